/* rt_list.h — intrusive doubly linked lists for the runtime's objects.
 * Owns nothing: nodes live inside the objects they link. Never allocates.
 */
#ifndef DTLSRUN_RT_LIST_H
#define DTLSRUN_RT_LIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct rt_link {
    struct rt_link *prev, *next;
} rt_link;

/* A list is a sentinel link pointing at itself when empty. */
typedef rt_link rt_list;

#define RT_CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void rt_list_init(rt_list *l) { l->prev = l->next = l; }
static inline bool rt_list_empty(const rt_list *l) { return l->next == l; }
static inline void rt_link_init(rt_link *n) { n->prev = n->next = n; }
static inline bool rt_link_linked(const rt_link *n) { return n->next != n; }

static inline void rt_list_push(rt_list *l, rt_link *n)
{
    n->prev = l->prev;
    n->next = l;
    l->prev->next = n;
    l->prev = n;
}

static inline void rt_link_remove(rt_link *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

#endif
