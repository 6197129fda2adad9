/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * OpenSCI: Dolphin's companion declarations <dis_types.h> that SISCI programs include (node id
 * lists, adapter types, broadcast node ids). Names as public SISCI programs use them; the values
 * of DIS_MAX_NSCIS and of the adapter types are OpenSCI's own (no public header gives them).
 * <sisci_types.h> includes this file.
 */
#ifndef DIS_TYPES_H
#define DIS_TYPES_H

/* Entries of a node id list: one per local adapter (OpenSCI has at most 8 adapters). */
#define DIS_MAX_NSCIS 8

/* A node id list, filled from index 0; unused entries are 0 (programs test list[1] != 0). */
typedef unsigned int dis_nodeId_list_t[DIS_MAX_NSCIS];

/* Adapter types reported by the node look-ups. OpenSCI has no Dolphin adapter model: always
 * DIS_ADAPTER_TYPE_NONE. Both names are used by programs (SCIGetNodeIdByAdapterName takes a
 * dis_virt_adapter_t, SCIGetNodeInfoByAdapterName a dis_adapter_type_t). */
typedef unsigned int dis_adapter_type_t;
typedef unsigned int dis_virt_adapter_t;
#define DIS_ADAPTER_TYPE_NONE 0u

/* The node id that SCIConnectSegment takes with SCI_FLAG_BROADCAST: every member of the group. */
#define DIS_BROADCAST_NODEID_GROUP_ALL 252

#endif
