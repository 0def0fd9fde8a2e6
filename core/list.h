/* list.h - intrusive doubly-linked list, in the manner of libuv's queue.h. */
#ifndef MST__LIST_H
#define MST__LIST_H

#include <stddef.h>

struct mst__list {
    struct mst__list *next;
    struct mst__list *prev;
};

#define mst__container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

static inline void mst__list_init(struct mst__list *l) { l->next = l->prev = l; }
static inline int mst__list_empty(const struct mst__list *l) { return l->next == l; }

static inline void mst__list_push(struct mst__list *head, struct mst__list *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

static inline void mst__list_remove(struct mst__list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}

/* Moves every node of `from` to the end of `to`, leaving `from` empty. */
static inline void mst__list_move_all(struct mst__list *from, struct mst__list *to)
{
    if (mst__list_empty(from))
        return;
    from->next->prev = to->prev;
    to->prev->next = from->next;
    from->prev->next = to;
    to->prev = from->prev;
    mst__list_init(from);
}

#define mst__list_foreach_safe(pos, tmp, head)                                                     \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); (pos) = (tmp), (tmp) = (pos)->next)

#endif
