/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* OpenSCI: the SISCI 2.x API (source-compatible; plain symbols, not Dolphin's mangled ones). */
#ifndef SISCI_API_H
#define SISCI_API_H

#include "sisci_types.h"
#include "sisci_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SISCI_FE unsigned int flags, sci_error_t *error

SISCI_API_EXPORT void SCIInitialize(SISCI_FE);
SISCI_API_EXPORT void SCITerminate(void);
SISCI_API_EXPORT void SCIOpen(sci_desc_t *sd, SISCI_FE);
SISCI_API_EXPORT void SCIClose(sci_desc_t sd, SISCI_FE);

/* local segments */
SISCI_API_EXPORT void SCICreateSegment(sci_desc_t sd, sci_local_segment_t *segment, unsigned int segmentId,
        size_t size, sci_cb_local_segment_t callback, void *callbackArg, SISCI_FE);
SISCI_API_EXPORT void SCIPrepareSegment(sci_local_segment_t segment, unsigned int localAdapterNo, SISCI_FE);
SISCI_API_EXPORT void SCISetSegmentAvailable(sci_local_segment_t segment, unsigned int localAdapterNo, SISCI_FE);
SISCI_API_EXPORT void SCISetSegmentUnavailable(sci_local_segment_t segment, unsigned int localAdapterNo, SISCI_FE);
SISCI_API_EXPORT void SCIRemoveSegment(sci_local_segment_t segment, SISCI_FE);
SISCI_API_EXPORT sci_segment_cb_reason_t SCIWaitForLocalSegmentEvent(sci_local_segment_t segment,
        unsigned int *sourcenodeId, unsigned int *localAdapterNo, unsigned int timeout, SISCI_FE);
SISCI_API_EXPORT size_t SCIGetLocalSegmentSize(sci_local_segment_t segment);
SISCI_API_EXPORT unsigned int SCIGetLocalSegmentId(sci_local_segment_t segment);
SISCI_API_EXPORT void SCIShareSegment(sci_local_segment_t segment, SISCI_FE);
SISCI_API_EXPORT void SCIAttachLocalSegment(sci_desc_t sd, sci_local_segment_t *segment, unsigned int segmentId,
        size_t *size, sci_cb_local_segment_t callback, void *callbackArg, SISCI_FE);
SISCI_API_EXPORT void SCIAttachPhysicalMemory(sci_ioaddr_t ioaddress, void *address, unsigned int busNo,
        size_t size, sci_local_segment_t segment, SISCI_FE);
SISCI_API_EXPORT void SCIRegisterSegmentMemory(void *address, size_t size, sci_local_segment_t segment, SISCI_FE);

/* remote segments */
SISCI_API_EXPORT void SCIConnectSegment(sci_desc_t sd, sci_remote_segment_t *segment, unsigned int nodeId,
        unsigned int segmentId, unsigned int localAdapterNo, sci_cb_remote_segment_t callback,
        void *callbackArg, unsigned int timeout, SISCI_FE);
SISCI_API_EXPORT void SCIDisconnectSegment(sci_remote_segment_t segment, SISCI_FE);
SISCI_API_EXPORT size_t SCIGetRemoteSegmentSize(sci_remote_segment_t segment);
SISCI_API_EXPORT unsigned int SCIGetRemoteSegmentId(sci_remote_segment_t segment);
SISCI_API_EXPORT unsigned int SCIGetRemoteSegmentNodeId(sci_remote_segment_t segment);
SISCI_API_EXPORT sci_segment_cb_reason_t SCIWaitForRemoteSegmentEvent(sci_remote_segment_t segment,
        sci_error_t *status, unsigned int timeout, SISCI_FE);

/* maps */
SISCI_API_EXPORT void *SCIMapLocalSegment(sci_local_segment_t segment, sci_map_t *map, size_t offset,
        size_t size, void *addr, SISCI_FE);
SISCI_API_EXPORT volatile void *SCIMapRemoteSegment(sci_remote_segment_t segment, sci_map_t *map, size_t offset,
        size_t size, void *addr, SISCI_FE);
SISCI_API_EXPORT void SCIUnmapSegment(sci_map_t map, SISCI_FE);
SISCI_API_EXPORT volatile void *SCIGetMapPointer(sci_map_t map);
SISCI_API_EXPORT sci_ioaddr_t SCIGetMapPhysAddr(sci_map_t map);

/* PIO, sequences, barriers */
SISCI_API_EXPORT void SCICreateMapSequence(sci_map_t map, sci_sequence_t *sequence, SISCI_FE);
SISCI_API_EXPORT void SCIRemoveSequence(sci_sequence_t sequence, SISCI_FE);
SISCI_API_EXPORT sci_sequence_status_t SCIStartSequence(sci_sequence_t sequence, SISCI_FE);
SISCI_API_EXPORT sci_sequence_status_t SCICheckSequence(sci_sequence_t sequence, SISCI_FE);
SISCI_API_EXPORT void SCIStoreBarrier(sci_sequence_t sequence, unsigned int flags);
SISCI_API_EXPORT void SCIFlush(sci_sequence_t sequence, unsigned int flags);
SISCI_API_EXPORT void SCIMemCpy(sci_sequence_t sequence, void *memAddr, sci_map_t remoteMap, size_t remoteOffset,
        size_t size, SISCI_FE);
SISCI_API_EXPORT void SCIMemWrite(void *memAddr, volatile void *remoteAddr, size_t size, SISCI_FE);
SISCI_API_EXPORT void SCICacheSync(sci_map_t map, void *addr, size_t length, SISCI_FE);

/* nodes, queries, errors */
SISCI_API_EXPORT int SCIProbeNode(sci_desc_t sd, unsigned int localAdapterNo, unsigned int nodeId, SISCI_FE);
SISCI_API_EXPORT void SCIGetLocalNodeId(unsigned int adapterNo, unsigned int *nodeId, SISCI_FE);
SISCI_API_EXPORT void SCIQuery(unsigned int command, void *data, SISCI_FE);
SISCI_API_EXPORT const char *SCIGetErrorString(sci_error_t error);
/* node look-ups by host name (hosts.conf addresses; docs/sisci-compat.md) */
SISCI_API_EXPORT void SCIGetNodeIdByAdapterName(char *adaptername, dis_nodeId_list_t *nodeId,
        dis_virt_adapter_t *type, SISCI_FE);
SISCI_API_EXPORT void SCIGetNodeInfoByAdapterName(char *adaptername, unsigned int *adapterNo,
        dis_nodeId_list_t *nodeIdlist, dis_adapter_type_t *type, SISCI_FE);

/* DMA */
SISCI_API_EXPORT void SCICreateDMAQueue(sci_desc_t sd, sci_dma_queue_t *dq, unsigned int localAdapterNo,
        unsigned int maxEntries, SISCI_FE);
SISCI_API_EXPORT void SCIRemoveDMAQueue(sci_dma_queue_t dq, SISCI_FE);
SISCI_API_EXPORT void SCIAbortDMAQueue(sci_dma_queue_t dq, SISCI_FE);
SISCI_API_EXPORT sci_dma_queue_state_t SCIDMAQueueState(sci_dma_queue_t dq);
SISCI_API_EXPORT sci_dma_queue_state_t SCIWaitForDMAQueue(sci_dma_queue_t dq, unsigned int timeout, SISCI_FE);
SISCI_API_EXPORT void SCIStartDmaTransfer(sci_dma_queue_t dq, sci_local_segment_t localSegment,
        sci_remote_segment_t remoteSegment, size_t localOffset, size_t size, size_t remoteOffset,
        sci_cb_dma_t callback, void *callbackArg, SISCI_FE);
SISCI_API_EXPORT void SCIStartDmaTransferVec(sci_dma_queue_t dq, sci_local_segment_t localSegment,
        sci_remote_segment_t remoteSegment, size_t vecLength, dis_dma_vec_t *disDmaVec,
        sci_cb_dma_t callback, void *callbackArg, SISCI_FE);

/* interrupts */
SISCI_API_EXPORT void SCICreateInterrupt(sci_desc_t sd, sci_local_interrupt_t *interrupt,
        unsigned int localAdapterNo, unsigned int *interruptNo, sci_cb_interrupt_t callback,
        void *callbackArg, SISCI_FE);
SISCI_API_EXPORT void SCIRemoveInterrupt(sci_local_interrupt_t interrupt, SISCI_FE);
SISCI_API_EXPORT void SCIWaitForInterrupt(sci_local_interrupt_t interrupt, unsigned int timeout, SISCI_FE);
SISCI_API_EXPORT void SCIConnectInterrupt(sci_desc_t sd, sci_remote_interrupt_t *interrupt, unsigned int nodeId,
        unsigned int localAdapterNo, unsigned int interruptNo, unsigned int timeout, SISCI_FE);
SISCI_API_EXPORT void SCIDisconnectInterrupt(sci_remote_interrupt_t interrupt, SISCI_FE);
SISCI_API_EXPORT void SCITriggerInterrupt(sci_remote_interrupt_t interrupt, SISCI_FE);

/* data interrupts */
SISCI_API_EXPORT void SCICreateDataInterrupt(sci_desc_t sd, sci_local_data_interrupt_t *interrupt,
        unsigned int localAdapterNo, unsigned int *interruptNo, sci_cb_data_interrupt_t callback,
        void *callbackArg, SISCI_FE);
SISCI_API_EXPORT void SCIRemoveDataInterrupt(sci_local_data_interrupt_t interrupt, SISCI_FE);
SISCI_API_EXPORT void SCIWaitForDataInterrupt(sci_local_data_interrupt_t interrupt, void *data,
        unsigned int *length, unsigned int timeout, SISCI_FE);
SISCI_API_EXPORT void SCIConnectDataInterrupt(sci_desc_t sd, sci_remote_data_interrupt_t *interrupt,
        unsigned int nodeId, unsigned int localAdapterNo, unsigned int interruptNo, unsigned int timeout,
        SISCI_FE);
SISCI_API_EXPORT void SCIDisconnectDataInterrupt(sci_remote_data_interrupt_t interrupt, SISCI_FE);
SISCI_API_EXPORT void SCITriggerDataInterrupt(sci_remote_data_interrupt_t interrupt, void *data,
        unsigned int length, SISCI_FE);

#undef SISCI_FE

#ifdef __cplusplus
}
#endif
#endif
