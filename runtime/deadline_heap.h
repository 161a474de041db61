/* deadline_heap.h — a binary min-heap of connections ordered by the time the
 * engine next wants to be called (dtls_conn_deadline). One heap and one
 * uv_timer per loop replace a timer per connection. Never calls the engine.
 */
#ifndef DTLSRUN_DEADLINE_HEAP_H
#define DTLSRUN_DEADLINE_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define RT_HEAP_NONE ((size_t)-1)

struct rt_conn;

typedef struct rt_deadline_heap {
    struct rt_conn **items;
    size_t len, cap;
} rt_deadline_heap;

void rt_heap_init(rt_deadline_heap *h);
void rt_heap_free(rt_deadline_heap *h);
/* Puts conn in the heap at deadline, or moves it; UINT64_MAX removes it.
 * Returns 0, or -1 when memory ran out (conn is then not in the heap). */
int rt_heap_set(rt_deadline_heap *h, struct rt_conn *conn, uint64_t deadline);
void rt_heap_remove(rt_deadline_heap *h, struct rt_conn *conn);
/* The earliest connection, or NULL. */
struct rt_conn *rt_heap_top(const rt_deadline_heap *h);

#endif
