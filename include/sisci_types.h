/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* OpenSCI: SISCI 2.x types, flags and constants (source-compatible). */
#ifndef SISCI_TYPES_H
#define SISCI_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include "dis_types.h"
#include "sisci_error.h"

#ifndef SISCI_API_EXPORT
#define SISCI_API_EXPORT __attribute__((visibility("default")))
#endif

typedef struct sci_desc *sci_desc_t;
typedef struct sci_local_segment *sci_local_segment_t;
typedef struct sci_remote_segment *sci_remote_segment_t;
typedef struct sci_map *sci_map_t;
typedef struct sci_sequence *sci_sequence_t;
typedef struct sci_dma_queue *sci_dma_queue_t;
typedef struct sci_dma_channel *sci_dma_channel_t;
typedef struct sci_remote_interrupt *sci_remote_interrupt_t;
typedef struct sci_local_interrupt *sci_local_interrupt_t;
typedef struct sci_local_data_interrupt *sci_local_data_interrupt_t;
typedef struct sci_remote_data_interrupt *sci_remote_data_interrupt_t;
typedef struct sci_smartio_device *sci_smartio_device_t;

typedef uint64_t sci_ioaddr_t;

typedef enum {
    SCI_CB_CONNECT = 1,
    SCI_CB_DISCONNECT = 2,
    SCI_CB_NOT_OPERATIONAL = 3,
    SCI_CB_OPERATIONAL = 4,
    SCI_CB_LOST = 5
} sci_segment_cb_reason_t;
#define MAX_CB_REASON SCI_CB_LOST

typedef enum {
    SCI_DMAQUEUE_IDLE = 0,
    SCI_DMAQUEUE_GATHER,
    SCI_DMAQUEUE_POSTED,
    SCI_DMAQUEUE_DONE,
    SCI_DMAQUEUE_ABORTED,
    SCI_DMAQUEUE_ERROR
} sci_dma_queue_state_t;

typedef enum {
    SCI_SEQ_OK = 0,
    SCI_SEQ_RETRIABLE,
    SCI_SEQ_NOT_RETRIABLE,
    SCI_SEQ_PENDING
} sci_sequence_status_t;

typedef enum {
    SCI_CALLBACK_CANCEL = 1,
    SCI_CALLBACK_CONTINUE = 2
} sci_callback_action_t;

typedef sci_callback_action_t (*sci_cb_local_segment_t)(void *arg, sci_local_segment_t segment,
        sci_segment_cb_reason_t reason, unsigned int nodeId, unsigned int localAdapterNo, sci_error_t error);
typedef sci_callback_action_t (*sci_cb_remote_segment_t)(void *arg, sci_remote_segment_t segment,
        sci_segment_cb_reason_t reason, sci_error_t status);
typedef sci_callback_action_t (*sci_cb_dma_t)(void *arg, sci_dma_queue_t queue, sci_error_t status);
typedef sci_callback_action_t (*sci_cb_interrupt_t)(void *arg, sci_local_interrupt_t interrupt, sci_error_t status);
typedef sci_callback_action_t (*sci_cb_data_interrupt_t)(void *arg, sci_local_data_interrupt_t interrupt,
        void *data, unsigned int length, sci_error_t status);

#define DIS_DMA_MAX_VECLEN 256
typedef struct {
    size_t size;
    size_t local_offset;
    size_t remote_offset;
    unsigned int flags;
} dis_dma_vec_t;

#define SCI_INFINITE_TIMEOUT 0xffffffffU

/* Flags with values known from the SISCI 2.x header. */
#define SCI_FLAG_USE_CALLBACK                    0x1U
#define SCI_FLAG_EMPTY                           0x2U
#define SCI_FLAG_PRIVATE                         0x4U
#define SCI_FLAG_DMA_SOURCE_ONLY                 0x8U
#define SCI_FLAG_AUTO_ID                         0x20000000U
#define SCI_FLAG_BROADCAST                       0x40000U
#define SCI_FLAG_ALLOW_UNICAST                   0x80U
#define SCI_FLAG_FIXED_MAP_ADDR                  0x1U
#define SCI_FLAG_READONLY_MAP                    0x2U
#define SCI_FLAG_LOCK_OPERATION                  0x4U
#define SCI_FLAG_CONDITIONAL_INTERRUPT_MAP       0x8U
#define SCI_FLAG_UNCONDITIONAL_DATA_INTERRUPT_MAP 0x10U
#define SCI_FLAG_IO_MAP_IOSPACE                  0x80U
#define SCI_FLAG_NO_MEMORY_LOOPBACK              0x800U
#define SCI_FLAG_NO_MEMORY_LOOPBACK_MAP          0x800U
#define SCI_FLAG_SHARED_MAP                      0x2000U
#define SCI_FLAG_WRITE_BACK_CACHE_MAP            0x08000000U
#define SCI_FLAG_DMA_WAIT                        0x4U
#define SCI_FLAG_DMA_READ                        0x10U
#define SCI_FLAG_DMA_PHDMA                       0x20U
#define SCI_FLAG_DMA_GLOBAL                      0x40U
#define SCI_FLAG_DMA_SYSDMA                      0x100U
#define SCI_FLAG_DMA_USER_MEM                    0x200U
#define SCI_FLAG_DMA_ADAPTER                     0x800U
#define SCI_FLAG_FORCE_REMOVE                    0x20U
#define SCI_FLAG_LOCK_USER_MEM                   0x400U
#define SCI_FLAG_PHYSICAL                        0x1000U
#define SCI_FLAG_CUDA_BUFFER                     0x2000U
#define SCI_FLAG_FIXED_INTNO                     0x2U
#define SCI_FLAG_SHARED_INT                      0x4U
#define SCI_FLAG_CONDITIONAL_INTERRUPT           0x8U
#define SCI_FLAG_COUNTING_INT                    0x20U
#define SCI_FLAG_CACHE_FLUSH                     0x100000U
#define SCI_FLAG_CACHE_INVALIDATE                0x200000U
#define SCI_FLAG_EXCLUSIVE                       0x01000000U

/* Flags whose vendor values are not public: OpenSCI's values (docs/sisci-compat.md). */
#define SCI_FLAG_NOTIFY                          0x00010000U /* SCISetSegmentUnavailable */
#define SCI_FLAG_FORCE_DISCONNECT                0x00020000U /* SCISetSegmentUnavailable */
#define SCI_FLAG_THREAD_SAFE                     0x00000100U /* SCIOpen (1.x; accepted, always true) */
#define SCI_FLAG_ASYNCHRONOUS_CONNECT            0x00004000U /* SCIConnectSegment */
#define SCI_FLAG_BLOCK_READ                      0x00000040U /* SCIMemCpy: remote -> local */
#define SCI_FLAG_ERROR_CHECK                     0x00000100U /* SCIMemCpy: check the sequence */
#define SCI_FLAG_NO_FLUSH                        0x00000001U /* SCICheckSequence */
#define SCI_FLAG_NO_STORE_BARRIER                0x00000002U /* SCICheckSequence */
#define SCI_FLAG_FAST_BARRIER                    0x00000004U /* SCICreateMapSequence */
#define SCI_FLAG_FLUSH_CPU_BUFFERS_ONLY          0x00000001U /* SCIFlush */

/* OpenSCI extension, SCIMapRemoteSegment: a transfer map without CPU access (SCIGetMapPointer gives NULL),
 * usable as the target of SCIMemCpy and sequences on every driver, including those that cannot map
 * remote memory for load/store (rdma). */
#define SCI_FLAG_OSCI_TRANSFER_MAP               0x00400000U

#define SCI_MEMTYPE_BAR     1
#define SCI_MEMTYPE_PRIVATE 2
#define SCI_MEMTYPE_SHARED  4

#define SCI_DMA_TYPE_DONTCARE    1
#define SCI_DMA_TYPE_ADAPTER     2
#define SCI_DMA_TYPE_GLOBAL      3
#define SCI_DMA_TYPE_SYSTEM      4
#define SCI_DMA_TYPE_TRANSPARENT 5
#define SCI_DMA_CHANNEL_ID_DONTCARE 0xFFFFFFFFU

/* SCIQuery commands and subcommands (values are OpenSCI's). */
#define SCI_Q_VENDORID              1
#define SCI_Q_API                   2
#define SCI_Q_ADAPTER               3
#define SCI_Q_SYSTEM                4
#define SCI_Q_LOCAL_SEGMENT         5
#define SCI_Q_REMOTE_SEGMENT        6
#define SCI_Q_MAP                   7
#define SCI_Q_DMA                   8
#define SCI_Q_DEVICE                9
#define SCI_Q_SISCI_DRIVER_VERSION  10

#define SCI_Q_ADAPTER_NODEID              1
#define SCI_Q_ADAPTER_SERIAL_NUMBER       2
#define SCI_Q_ADAPTER_CARD_TYPE           3
#define SCI_Q_ADAPTER_CONFIGURED          4
#define SCI_Q_ADAPTER_DMA_MTU             5
#define SCI_Q_ADAPTER_MCAST_MAX_GROUPS    6
#define SCI_Q_ADAPTER_BDF                 7
#define SCI_Q_ADAPTER_NUMBER_OF_LINKS     8
#define SCI_Q_ADAPTER_LINK_OPERATIONAL    9
#define SCI_Q_ADAPTER_LINK_WIDTH          10
#define SCI_Q_ADAPTER_LINK_SPEED          11
#define SCI_Q_ADAPTER_LINK_UPTIME         12
#define SCI_Q_ADAPTER_LINK_DOWNTIME       13
#define SCI_Q_ADAPTER_LINK_CABLE_INSERTED 14
#define SCI_Q_ADAPTER_LINK_ENABLED        15
#define SCI_Q_ADAPTER_LINK_PARTNER_PORT_NO 16

#define SCI_Q_LOCAL_SEGMENT_IOADDR    1
#define SCI_Q_LOCAL_SEGMENT_PHYS_ADDR 2
#define SCI_Q_REMOTE_SEGMENT_IOADDR   1
#define SCI_Q_MAP_MAPPED_TO_LOCAL_TARGET 1
#define SCI_Q_MAP_IOADDR              2
#define SCI_Q_MAP_PHYS_ADDR           3

typedef struct { char *str; unsigned int length; } sci_query_string_t;
typedef struct {
    unsigned int localAdapterNo;
    unsigned int portNo;
    unsigned int subcommand;
    void *data;
} sci_query_adapter_t;
typedef struct { unsigned int subcommand; void *data; } sci_query_system_t;
typedef struct {
    sci_local_segment_t segment;
    unsigned int subcommand;
    union { sci_ioaddr_t ioaddr; } data;
} sci_query_local_segment_t;
typedef struct {
    sci_remote_segment_t segment;
    unsigned int subcommand;
    union { sci_ioaddr_t ioaddr; } data;
} sci_query_remote_segment_t;
typedef struct {
    sci_map_t map;
    unsigned int subcommand;
    unsigned int data;
} sci_query_map_t;

#endif
