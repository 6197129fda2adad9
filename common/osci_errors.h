/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The one list of OpenSCI's errors. Inside every library an error is 0 or a negative errno; at an
 * API edge it becomes the API's code through the columns below, and nowhere else:
 *   OSCI_ERRNO_LIST(X): X(errno, sci_error_t, NvSciError, text) — libseg's seg__to_sci (column 2),
 *     libipc's errno -> NvSciError (column 3), osci_strerror (column 4). SCI_ERR_SYSTEM,
 *     NvSciError_ResourceError and OSCI_ENOTEXT are what an errno that is not listed gets.
 *   OSCI_SCI_ERROR_LIST(X): X(sci_error_t, text) — SCIGetErrorString.
 * Only the column a library expands is compiled, so the list names codes of both APIs without
 * including either header. libseg gives a few errnos a SISCI meaning of their own (SEG_EFLAG ...,
 * libseg/seg_internal.h); their rows are marked. A context whose public codes differ (SCIInitialize's
 * configuration causes: seg__conf_to_sci) overrides the list at its edge, documented there.
 */
#ifndef OSCI_ERRORS_H
#define OSCI_ERRORS_H

#define OSCI_ENOTEXT ((const char *)0)   /* osci_strerror: "unknown error" */

#define OSCI_ERRNO_LIST(X) \
    X(EPERM,           SCI_ERR_ILLEGAL_OPERATION,     NvSciError_NotPermitted,         "operation not permitted in this state") \
    X(ENOENT,          SCI_ERR_NO_SUCH_SEGMENT,       NvSciError_NoSuchEntry,          "no such object") \
    X(EIO,             SCI_ERR_TRANSFER_FAILED,       NvSciError_ResourceError,        "I/O error: the transfer failed") \
    X(ENXIO,           SCI_ERR_SEGMENT_NOT_PREPARED,  NvSciError_ResourceError,        "segment not prepared") /* SEG_ENOTPREP */ \
    X(E2BIG,           SCI_ERR_MAX_ENTRIES,           NvSciError_ResourceError,        "too many entries") \
    X(EAGAIN,          SCI_ERR_SYSTEM,                NvSciError_InsufficientMemory,   "resource temporarily unavailable") \
    X(ENOMEM,          SCI_ERR_NOSPC,                 NvSciError_InsufficientMemory,   "out of memory") \
    X(EACCES,          SCI_ERR_ACCESS,                NvSciError_NotPermitted,         "access denied") \
    X(EFAULT,          SCI_ERR_ILLEGAL_ADDRESS,       NvSciError_ResourceError,        "bad address") \
    X(EBUSY,           SCI_ERR_BUSY,                  NvSciError_Busy,                 "busy: still in use") \
    X(EEXIST,          SCI_ERR_SEGMENTID_USED,        NvSciError_ResourceError,        "already exists") \
    X(EXDEV,           SCI_ERR_SYSTEM,                NvSciError_ResourceError,        "memory is not in this device's window") \
    X(ENODEV,          SCI_ERR_NO_SUCH_ADAPTERNO,     NvSciError_NoSuchDevice,         "no such adapter or device") \
    X(EINVAL,          SCI_ERR_ILLEGAL_PARAMETER,     NvSciError_BadParameter,         "invalid argument") \
    X(ENOSPC,          SCI_ERR_NOSPC,                 NvSciError_InsufficientResource, "no space left") \
    X(ESPIPE,          SCI_ERR_OFFSET_ALIGNMENT,      NvSciError_ResourceError,        "offset alignment") /* SEG_EOFFSET */ \
    X(ERANGE,          SCI_ERR_OUT_OF_RANGE,          NvSciError_ResourceError,        "out of range") \
    X(ENOTTY,          SCI_ERR_ILLEGAL_QUERY,         NvSciError_ResourceError,        "illegal query") /* SEG_EQUERY */ \
    X(EMSGSIZE,        SCI_ERR_SIZE_ALIGNMENT,        NvSciError_ResourceError,        "size alignment / message too long") /* SEG_ESIZE */ \
    X(ENOLINK,         SCI_ERR_NO_LINK_ACCESS,        NvSciError_ResourceError,        "link is down") \
    X(EPROTO,          SCI_ERR_ILLEGAL_OPERATION,     NvSciError_InvalidState,         "protocol error or illegal state transition") \
    X(EBADMSG,         SCI_ERR_SYSTEM,                NvSciError_ResourceError,        "malformed message") \
    X(EOVERFLOW,       SCI_ERR_OVERFLOW,              NvSciError_ResourceError,        "value too large") \
    X(EBADRQC,         SCI_ERR_ILLEGAL_FLAG,          NvSciError_ResourceError,        "illegal flag") /* SEG_EFLAG */ \
    X(ECHRNG,          SCI_ERR_ILLEGAL_ADAPTERNO,     NvSciError_ResourceError,        "illegal adapter number") /* SEG_EADAPTER */ \
    X(EOPNOTSUPP,      SCI_ERR_NOT_SUPPORTED,         NvSciError_NotSupported,         "not supported") \
    X(EADDRINUSE,      SCI_ERR_INTNO_USED,            NvSciError_ResourceError,        "number already in use") /* SEG_EINTNO_USED */ \
    X(EADDRNOTAVAIL,   SCI_ERR_ILLEGAL_NODEID,        NvSciError_ResourceError,        "illegal node id") \
    X(ENOTCONN,        SCI_ERR_NOT_CONNECTED,         NvSciError_ResourceError,        "not connected") \
    X(ESHUTDOWN,       SCI_ERR_NOT_INITIALIZED,       NvSciError_ResourceError,        "library not initialised") /* SEG_ENOTINIT */ \
    X(ETIMEDOUT,       SCI_ERR_TIMEOUT,               NvSciError_Timeout,              "timed out") \
    X(ECONNREFUSED,    SCI_ERR_CONNECTION_REFUSED,    NvSciError_ResourceError,        "connection refused") \
    X(ECONNRESET,      SCI_ERR_SYSTEM,                NvSciError_ConnectionReset,      "connection reset by peer") \
    X(EHOSTDOWN,       SCI_ERR_NODE_NOT_RESPONDING,   NvSciError_ResourceError,        "node is not responding") \
    X(EHOSTUNREACH,    SCI_ERR_NO_SUCH_NODEID,        NvSciError_ResourceError,        "no such node") \
    X(ESTALE,          SCI_ERR_SEGMENT_NOT_CONNECTED, NvSciError_ResourceError,        "connection is gone") \
    X(ECANCELED,       SCI_ERR_CANCELLED,             NvSciError_ResourceError,        "cancelled") \
    X(EPROTONOSUPPORT, SCI_ERR_INCONSISTENT_VERSIONS, NvSciError_ResourceError,        "inconsistent protocol versions") \
    X(EDEADLK,         SCI_ERR_SYSTEM,                NvSciError_ResourceError,        "would deadlock") \
    X(EISDIR,          SCI_ERR_SYSTEM,                NvSciError_ResourceError,        "is a directory") \
    X(EFBIG,           SCI_ERR_SYSTEM,                NvSciError_ResourceError,        "file too large") \
    X(EBADSLT,         SCI_ERR_NO_SUCH_INTNO,         NvSciError_ResourceError,        "no such interrupt number") /* SEG_ENOINTNO */ \
    X(ENOPROTOOPT,     SCI_ERR_FLAG_NOT_IMPLEMENTED,  NvSciError_ResourceError,        "flag not implemented") /* SEG_EFLAGNI */ \
    X(EREMOTEIO,       SCI_ERR_SYSTEM,                NvSciError_ResourceError,        "remote I/O error") /* SEG_ESYSTEM */ \
    X(EINTR,           SCI_ERR_SYSTEM,                NvSciError_InterruptedCall,      OSCI_ENOTEXT) \
    X(EMFILE,          SCI_ERR_SYSTEM,                NvSciError_InsufficientResource, OSCI_ENOTEXT) \
    X(ENFILE,          SCI_ERR_SYSTEM,                NvSciError_InsufficientResource, OSCI_ENOTEXT)

#define OSCI_SCI_ERROR_LIST(X) \
    X(SCI_ERR_OK, "OK") \
    X(SCI_ERR_BUSY, "Busy: the resource is still in use") \
    X(SCI_ERR_FLAG_NOT_IMPLEMENTED, "Flag not implemented") \
    X(SCI_ERR_ILLEGAL_FLAG, "Illegal flag") \
    X(SCI_ERR_NOSPC, "No space: out of resources") \
    X(SCI_ERR_API_NOSPC, "No space in the API") \
    X(SCI_ERR_HW_NOSPC, "No space in the hardware") \
    X(SCI_ERR_NOT_IMPLEMENTED, "Not implemented") \
    X(SCI_ERR_ILLEGAL_ADAPTERNO, "Illegal adapter number") \
    X(SCI_ERR_NO_SUCH_ADAPTERNO, "No such adapter number") \
    X(SCI_ERR_TIMEOUT, "Timed out") \
    X(SCI_ERR_OUT_OF_RANGE, "Out of range") \
    X(SCI_ERR_NO_SUCH_SEGMENT, "No such segment (or interrupt number)") \
    X(SCI_ERR_ILLEGAL_NODEID, "Illegal node id") \
    X(SCI_ERR_CONNECTION_REFUSED, "Connection refused") \
    X(SCI_ERR_SEGMENT_NOT_CONNECTED, "Segment not connected") \
    X(SCI_ERR_SIZE_ALIGNMENT, "Size alignment (or zero size)") \
    X(SCI_ERR_OFFSET_ALIGNMENT, "Offset alignment") \
    X(SCI_ERR_ILLEGAL_PARAMETER, "Illegal parameter") \
    X(SCI_ERR_MAX_ENTRIES, "Maximum number of entries exceeded") \
    X(SCI_ERR_SEGMENT_NOT_PREPARED, "Segment not prepared") \
    X(SCI_ERR_ILLEGAL_ADDRESS, "Illegal address") \
    X(SCI_ERR_ILLEGAL_OPERATION, "Illegal operation") \
    X(SCI_ERR_ILLEGAL_QUERY, "Illegal query") \
    X(SCI_ERR_SEGMENTID_USED, "Segment id already used") \
    X(SCI_ERR_SYSTEM, "System error") \
    X(SCI_ERR_CANCELLED, "Cancelled") \
    X(SCI_ERR_NOT_CONNECTED, "Not connected") \
    X(SCI_ERR_NOT_AVAILABLE, "Not available") \
    X(SCI_ERR_INCONSISTENT_VERSIONS, "Inconsistent versions") \
    X(SCI_ERR_COND_INT_RACE_PROBLEM, "Conditional interrupt race") \
    X(SCI_ERR_OVERFLOW, "Overflow") \
    X(SCI_ERR_NOT_INITIALIZED, "Not initialized: call SCIInitialize first") \
    X(SCI_ERR_ACCESS, "Access denied") \
    X(SCI_ERR_NOT_SUPPORTED, "Not supported by OpenSCI or this driver") \
    X(SCI_ERR_DEPRECATED, "Deprecated") \
    X(SCI_ERR_DMA_NOT_AVAILABLE, "DMA not available") \
    X(SCI_ERR_DMA_DISABLED, "DMA disabled") \
    X(SCI_ERR_EWOULD_BLOCK, "Would block") \
    X(SCI_ERR_SEMAPHORE_COUNT_EXCEEDED, "Semaphore count exceeded") \
    X(SCI_ERR_IRQL_ILLEGAL, "Illegal IRQ level") \
    X(SCI_ERR_REMOTE_BUSY, "Remote busy") \
    X(SCI_ERR_LOCAL_BUSY, "Local busy") \
    X(SCI_ERR_ALL_BUSY, "All busy") \
    X(SCI_ERR_NO_SUCH_FDID, "No such fabric device id") \
    X(SCI_ERR_INTNO_USED, "Interrupt number already used") \
    X(SCI_ERR_NO_SUCH_NODEID, "No such node id") \
    X(SCI_ERR_NODE_NOT_RESPONDING, "Node not responding") \
    X(SCI_ERR_NO_REMOTE_LINK_ACCESS, "No remote link access") \
    X(SCI_ERR_NO_LINK_ACCESS, "No link access: the link is down") \
    X(SCI_ERR_TRANSFER_FAILED, "Transfer failed")

#endif
