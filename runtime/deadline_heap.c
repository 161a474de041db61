/* deadline_heap.c — min-heap of connections by engine deadline.
 * Owns only the array of pointers; the index of each connection in it is
 * kept in the connection (heap_index) so updates are O(log n). Never frees
 * connections and never calls the engine.
 */
#include <stdlib.h>

#include "rt_internal.h"

void rt_heap_init(rt_deadline_heap *h)
{
    h->items = NULL;
    h->len = h->cap = 0;
}

void rt_heap_free(rt_deadline_heap *h)
{
    free(h->items);
    rt_heap_init(h);
}

static void heap_place(rt_deadline_heap *h, size_t i, rt_conn *c)
{
    h->items[i] = c;
    c->heap_index = i;
}

static void heap_up(rt_deadline_heap *h, size_t i)
{
    rt_conn *c = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->items[parent]->deadline <= c->deadline)
            break;
        heap_place(h, i, h->items[parent]);
        i = parent;
    }
    heap_place(h, i, c);
}

static void heap_down(rt_deadline_heap *h, size_t i)
{
    rt_conn *c = h->items[i];
    for (;;) {
        size_t left = 2 * i + 1, smallest = i;
        uint64_t best = c->deadline;
        if (left < h->len && h->items[left]->deadline < best) {
            smallest = left;
            best = h->items[left]->deadline;
        }
        if (left + 1 < h->len && h->items[left + 1]->deadline < best)
            smallest = left + 1;
        if (smallest == i)
            break;
        heap_place(h, i, h->items[smallest]);
        i = smallest;
    }
    heap_place(h, i, c);
}

void rt_heap_remove(rt_deadline_heap *h, rt_conn *c)
{
    size_t i = c->heap_index;
    if (i == RT_HEAP_NONE || i >= h->len || h->items[i] != c)
        return;
    c->heap_index = RT_HEAP_NONE;
    h->len--;
    if (i == h->len)
        return;
    rt_conn *moved = h->items[h->len];
    heap_place(h, i, moved);
    heap_up(h, i);
    heap_down(h, moved->heap_index);
}

int rt_heap_set(rt_deadline_heap *h, rt_conn *c, uint64_t deadline)
{
    if (deadline == UINT64_MAX) {
        rt_heap_remove(h, c);
        c->deadline = deadline;
        return 0;
    }
    if (c->heap_index != RT_HEAP_NONE) {
        uint64_t old = c->deadline;
        c->deadline = deadline;
        if (deadline < old)
            heap_up(h, c->heap_index);
        else if (deadline > old)
            heap_down(h, c->heap_index);
        return 0;
    }
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        rt_conn **items = realloc(h->items, cap * sizeof *items);
        if (items == NULL)
            return -1;
        h->items = items;
        h->cap = cap;
    }
    c->deadline = deadline;
    h->items[h->len] = c;
    c->heap_index = h->len;
    h->len++;
    heap_up(h, c->heap_index);
    return 0;
}

rt_conn *rt_heap_top(const rt_deadline_heap *h)
{
    return h->len ? h->items[0] : NULL;
}
