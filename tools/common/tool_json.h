/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* What the tools share (tools/common/, compiled into each tool; docs/architecture.md "Tools"). */
#ifndef OSCI_TOOL_JSON_H
#define OSCI_TOOL_JSON_H

/* A JSON string literal of s on stdout: quotes and backslashes escaped, control characters as \u00XX. */
void tool_json_str(const char *s);

#endif
