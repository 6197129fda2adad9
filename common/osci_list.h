/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* An intrusive doubly linked list: a struct osci_list_node inside each element, a struct osci_list_head
 * (a circular list with the head as its sentinel) where the list lives. Unlinking is O(1) and needs no
 * walk. No locking: each list is guarded by whatever guarded it before (its owner says which). */
#ifndef OSCI_LIST_H
#define OSCI_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct osci_list_node {
    struct osci_list_node *next, *prev;
};

struct osci_list_head {
    struct osci_list_node n;
};

/* The element of type `type` whose member `member` is at ptr. */
#define osci_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* A static head: static struct osci_list_head h = OSCI_LIST_HEAD_INIT(h); */
#define OSCI_LIST_HEAD_INIT(name) { { &(name).n, &(name).n } }

static inline void osci_list_init(struct osci_list_head *h)
{
    h->n.next = h->n.prev = &h->n;
}

/* A node that is on no list (after osci_list_node_init or osci_list_del). */
static inline void osci_list_node_init(struct osci_list_node *n)
{
    n->next = n->prev = n;
}

static inline bool osci_list_empty(const struct osci_list_head *h)
{
    return h->n.next == &h->n;
}

/* True when n is on a list: added and not deleted since (a zeroed node, as calloc leaves it, is on none). */
static inline bool osci_list_linked(const struct osci_list_node *n)
{
    return n->next && n->next != n;
}

static inline void osci_list__insert(struct osci_list_node *n, struct osci_list_node *prev,
                                     struct osci_list_node *next)
{
    n->prev = prev;
    n->next = next;
    prev->next = n;
    next->prev = n;
}

/* Adds n as the first element. */
static inline void osci_list_add(struct osci_list_head *h, struct osci_list_node *n)
{
    osci_list__insert(n, &h->n, h->n.next);
}

/* Adds n as the last element. */
static inline void osci_list_add_tail(struct osci_list_head *h, struct osci_list_node *n)
{
    osci_list__insert(n, h->n.prev, &h->n);
}

/* Unlinks n from its list and leaves it unlinked. A node on no list (deleted already, or zeroed and
 * never added) stays as it is, as the hand-written "unlink if found" loops did. */
static inline void osci_list_del(struct osci_list_node *n)
{
    if (!osci_list_linked(n))
        return;
    n->prev->next = n->next;
    n->next->prev = n->prev;
    osci_list_node_init(n);
}

/* Moves every element of from to the front of to, in their order; from is left empty. */
static inline void osci_list_splice(struct osci_list_head *to, struct osci_list_head *from)
{
    if (osci_list_empty(from))
        return;
    from->n.prev->next = to->n.next;
    to->n.next->prev = from->n.prev;
    to->n.next = from->n.next;
    from->n.next->prev = &to->n;
    osci_list_init(from);
}

#define osci_list_entry(node, type, member) osci_container_of(node, type, member)

/* The first element, or NULL when the list is empty. */
#define osci_list_first(h, type, member) \
    (osci_list_empty(h) ? NULL : osci_list_entry((h)->n.next, type, member))

/* pos: a pointer to the element type; the body must not unlink pos (use _safe for that). */
#define osci_list_for_each(pos, h, member)                                           \
    for (pos = osci_list_entry((h)->n.next, __typeof__(*pos), member);               \
         &pos->member != &(h)->n;                                                    \
         pos = osci_list_entry(pos->member.next, __typeof__(*pos), member))

/* The same, and the body may unlink (and free) pos; tmp is another pointer of pos's type. */
#define osci_list_for_each_safe(pos, tmp, h, member)                                 \
    for (pos = osci_list_entry((h)->n.next, __typeof__(*pos), member),               \
         tmp = osci_list_entry(pos->member.next, __typeof__(*pos), member);          \
         &pos->member != &(h)->n;                                                    \
         pos = tmp, tmp = osci_list_entry(tmp->member.next, __typeof__(*pos), member))

#endif
