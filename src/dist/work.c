/* Work distribution: static (Scatterv/Gatherv of rank blocks) and dynamic (items on request, rank 0 computing
 * too). Protocol of the dynamic mode, on a duplicate of the caller's communicator:
 *   worker -> 0, TAG_UP:   {int64 item (-1: none), int64 status} [+ result | + gd_error when status != OK]
 *   0 -> worker, TAG_DOWN: {int64 item (-1: stop), int64 0} [+ task]
 *   worker -> 0, TAG_DONE: empty, after the worker has received the reply to every message it sent.
 * No call waits for the other side to compute: workers post their receives ahead and send results with MPI_Isend,
 * rank 0 keeps one receive posted per worker, polls them with MPI_Testsome between its own items and replies with
 * MPI_Isend, so large (rendezvous) messages never deadlock.
 * Each worker starts with two requests in flight and sends one message per finished item, so one task is
 * always waiting for it; each message gets exactly one reply; once items are exhausted (or anything failed)
 * every reply is "stop". */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gendec/dist.h"

enum { TAG_UP = 7301, TAG_DOWN = 7302, TAG_DONE = 7303 };
#define HDR 16

/* GD_EMPI naming the failed call. */
static gd_status mpi_err(int rc, const char* what, gd_error* err) {
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, s, &len);
    return gd_error_set(err, GD_EMPI, NULL, 0, 0, "check that every rank is alive and the MPI launch was correct",
                        "%s failed: %s", what, s);
}

/* Static mode: blocks of items per rank. */
static gd_status run_static(const gd_dist_work* w, MPI_Comm comm, int rank, int size, gd_error* err) {
    gd_status st = GD_OK;
    int rc;
    size_t begin, end;
    gd_dist_block(w->n_items, rank, size, &begin, &end);
    size_t mine = end - begin;
    int* counts = calloc((size_t)size, sizeof(int));
    int* displs = calloc((size_t)size, sizeof(int));
    unsigned char* all_tasks = NULL;
    unsigned char* all_results = NULL;
    unsigned char* tasks = malloc(mine ? mine * w->task_bytes : 1);
    unsigned char* results = malloc(mine ? mine * w->result_bytes : 1);
    MPI_Datatype tt = MPI_DATATYPE_NULL, rt = MPI_DATATYPE_NULL;
    if (!counts || !displs || !tasks || !results) st = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    for (int r = 0; r < size && !st; r++) {
        size_t b, e;
        gd_dist_block(w->n_items, r, size, &b, &e);
        counts[r] = (int)(e - b);
        displs[r] = (int)b;
    }
    if (rank == 0 && !st) {
        all_tasks = malloc(w->n_items ? w->n_items * w->task_bytes : 1);
        all_results = malloc(w->n_items ? w->n_items * w->result_bytes : 1);
        if (!all_tasks || !all_results)
            st = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, "use fewer images per run", "out of memory for %zu work items",
                              w->n_items);
        for (size_t i = 0; i < w->n_items && !st; i++) st = w->pack(w->ctx, i, all_tasks + i * w->task_bytes, err);
    }
    if ((st = gd_dist_agree(st, comm, err))) goto done;
    MPI_Type_contiguous((int)w->task_bytes, MPI_BYTE, &tt);
    MPI_Type_commit(&tt);
    MPI_Type_contiguous((int)w->result_bytes, MPI_BYTE, &rt);
    MPI_Type_commit(&rt);
    rc = MPI_Scatterv(all_tasks, counts, displs, tt, tasks, (int)mine, tt, 0, comm);
    if (rc != MPI_SUCCESS) {
        st = mpi_err(rc, "MPI_Scatterv", err);
        goto done;
    }
    for (size_t i = 0; i < mine && !st; i++) {
        st = w->work(w->ctx, begin + i, tasks + i * w->task_bytes, results + i * w->result_bytes, err);
        if (!st && rank == 0 && w->progress) w->progress(w->ctx, i + 1, w->n_items);
    }
    if ((st = gd_dist_agree(st, comm, err))) goto done;
    rc = MPI_Gatherv(results, (int)mine, rt, all_results, counts, displs, rt, 0, comm);
    if (rc != MPI_SUCCESS) {
        st = mpi_err(rc, "MPI_Gatherv", err);
        goto done;
    }
    if (rank == 0)
        for (size_t i = 0; i < w->n_items && !st; i++) {
            st = w->store(w->ctx, i, all_results + i * w->result_bytes, err);
            if (!st && w->progress) w->progress(w->ctx, i + 1, w->n_items);
        }
    st = gd_dist_agree(st, comm, err);
done:
    if (tt != MPI_DATATYPE_NULL) MPI_Type_free(&tt);
    if (rt != MPI_DATATYPE_NULL) MPI_Type_free(&rt);
    free(counts);
    free(displs);
    free(tasks);
    free(results);
    free(all_tasks);
    free(all_results);
    return st;
}

/* Dynamic mode, a rank other than 0: two receives always posted ahead (so rank 0 never waits to send a
 * task), results sent without blocking (so the worker goes on with its next task at once). */
static gd_status worker(const gd_dist_work* w, MPI_Comm comm, unsigned char* down[2], unsigned char* up[2],
                        gd_error* err) {
    gd_status st = GD_OK;
    MPI_Request rreq[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL}, sreq[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    const int down_len = (int)(HDR + w->task_bytes);
    int64_t hdr[2] = {-1, GD_OK};
    int outstanding = 0, stopped = 0, nx = 0, u = 0, rc;
    for (int q = 0; q < 2; q++)
        if ((rc = MPI_Irecv(down[q], down_len, MPI_BYTE, 0, TAG_DOWN, comm, &rreq[q])) != MPI_SUCCESS)
            return mpi_err(rc, "MPI_Irecv", err);
    for (int q = 0; q < 2; q++) {
        if ((rc = MPI_Send(hdr, HDR, MPI_BYTE, 0, TAG_UP, comm)) != MPI_SUCCESS) return mpi_err(rc, "MPI_Send", err);
        outstanding++;
    }
    while (outstanding > 0) {
        int cur = nx;
        if ((rc = MPI_Wait(&rreq[cur], MPI_STATUS_IGNORE)) != MPI_SUCCESS) return mpi_err(rc, "MPI_Wait", err);
        outstanding--;
        nx ^= 1;
        int64_t item;
        memcpy(&item, down[cur], sizeof item);
        if (item < 0 || stopped) {
            stopped = 1;
            continue;
        }
        if ((rc = MPI_Wait(&sreq[u], MPI_STATUS_IGNORE)) != MPI_SUCCESS) return mpi_err(rc, "MPI_Wait", err);
        st = w->work(w->ctx, (size_t)item, down[cur] + HDR, up[u] + HDR, err);
        int64_t h[2] = {item, st};
        memcpy(up[u], h, HDR);
        size_t len = HDR + (st ? sizeof(gd_error) : w->result_bytes);
        if (st) {
            gd_error copy = err ? *err : (gd_error){.code = st};
            memcpy(up[u] + HDR, &copy, sizeof copy);
            stopped = 1;
        }
        /* the reply to this message lands in the buffer just used */
        if ((rc = MPI_Irecv(down[cur], down_len, MPI_BYTE, 0, TAG_DOWN, comm, &rreq[cur])) != MPI_SUCCESS)
            return mpi_err(rc, "MPI_Irecv", err);
        if ((rc = MPI_Isend(up[u], (int)len, MPI_BYTE, 0, TAG_UP, comm, &sreq[u])) != MPI_SUCCESS)
            return mpi_err(rc, "MPI_Isend", err);
        u ^= 1;
        outstanding++;
    }
    if ((rc = MPI_Waitall(2, sreq, MPI_STATUSES_IGNORE)) != MPI_SUCCESS) return mpi_err(rc, "MPI_Waitall", err);
    if ((rc = MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_DONE, comm)) != MPI_SUCCESS) return mpi_err(rc, "MPI_Send", err);
    return st;
}

/* Rank 0's side: one receive posted per worker, replies sent without blocking from two slots per worker (a
 * worker has at most two messages waiting for replies, so a slot is free again by the time it is needed). */
typedef struct {
    const gd_dist_work* w;
    MPI_Comm comm;
    int n_workers;
    size_t next, stored, up_cap;
    int done_workers;
    gd_status failed;
    unsigned char** up;   /* (n_workers) */
    unsigned char** down; /* (n_workers * 2) */
    MPI_Request* upreq;   /* (n_workers) */
    MPI_Request* downreq; /* (n_workers * 2) */
    int* slot;            /* (n_workers) next reply slot */
    int* served;          /* (n_workers) 1 once the worker got a reply */
    int n_served;         /* workers with served[i] = 1 */
    int* idx;             /* (n_workers) Testsome/Waitsome output */
    MPI_Status* sts;      /* (n_workers) */
} server;

/* Handles worker i's message (completed receive with status ps) and reposts the receive. */
static gd_status serve(server* s, int i, const MPI_Status* ps, gd_error* err) {
    const gd_dist_work* w = s->w;
    int src = i + 1, len = 0, rc;
    if (ps->MPI_TAG == TAG_DONE) {
        s->done_workers++;
        return GD_OK; /* upreq[i] is now MPI_REQUEST_NULL and stays so */
    }
    MPI_Get_count(ps, MPI_BYTE, &len);
    if (len < HDR || (size_t)len > s->up_cap)
        return gd_error_set(err, GD_EMPI, NULL, 0, 0, NULL, "work queue: message of %d bytes from rank %d", len, src);
    unsigned char* up = s->up[i];
    int64_t h[2];
    memcpy(h, up, HDR);
    if (h[0] >= 0 && !s->failed) {
        if (h[1] != GD_OK) {
            gd_error remote;
            memcpy(&remote, up + HDR, sizeof remote);
            remote.msg[sizeof remote.msg - 1] = remote.file[sizeof remote.file - 1] = remote.hint[sizeof remote.hint - 1] = 0;
            if (err) *err = remote;
            gd_error_prefix(err, "rank %d, item %lld", src, (long long)h[0]);
            s->failed = (gd_status)h[1];
        } else {
            gd_status st = w->store(w->ctx, (size_t)h[0], up + HDR, err);
            if (st) s->failed = st;
            else {
                s->stored++;
                if (w->progress) w->progress(w->ctx, s->stored, w->n_items);
            }
        }
    }
    /* repost before replying: the worker's next message may follow the reply at once */
    rc = MPI_Irecv(s->up[i], (int)s->up_cap, MPI_BYTE, src, MPI_ANY_TAG, s->comm, &s->upreq[i]);
    if (rc != MPI_SUCCESS) return mpi_err(rc, "MPI_Irecv", err);
    int q = 2 * i + s->slot[i];
    s->slot[i] ^= 1;
    if (!s->served[i]) s->served[i] = 1, s->n_served++;
    if ((rc = MPI_Wait(&s->downreq[q], MPI_STATUS_IGNORE)) != MPI_SUCCESS) return mpi_err(rc, "MPI_Wait", err);
    unsigned char* down = s->down[q];
    int64_t d[2] = {-1, 0};
    size_t out = HDR;
    if (!s->failed && s->next < w->n_items) {
        size_t item = s->next++;
        gd_status st = w->pack(w->ctx, item, down + HDR, err);
        if (st) s->failed = st;
        else {
            d[0] = (int64_t)item;
            out += w->task_bytes;
        }
    }
    memcpy(down, d, HDR);
    rc = MPI_Isend(down, (int)out, MPI_BYTE, src, TAG_DOWN, s->comm, &s->downreq[q]);
    return rc == MPI_SUCCESS ? GD_OK : mpi_err(rc, "MPI_Isend", err);
}

/* Serves completed messages; blocks for at least one when `block`. Without `block`, tests again after serving
 * until nothing more has arrived: serving reposts a worker's receive, and its prefetched second message, already
 * sent, must not wait for rank 0's next item. Returns GD_OK when there was nothing. */
static gd_status poll(server* s, int block, gd_error* err) {
    int* idx = s->idx;
    MPI_Status* sts = s->sts;
    for (;;) {
        int count = 0;
        int rc = block ? MPI_Waitsome(s->n_workers, s->upreq, &count, idx, sts)
                       : MPI_Testsome(s->n_workers, s->upreq, &count, idx, sts);
        if (rc != MPI_SUCCESS) return mpi_err(rc, block ? "MPI_Waitsome" : "MPI_Testsome", err);
        if (count == MPI_UNDEFINED || count == 0) return GD_OK;
        for (int k = 0; k < count; k++) {
            gd_status st = serve(s, idx[k], &sts[k], err);
            if (st) return st;
        }
        if (block) return GD_OK;
    }
}

/* Frees the server's buffers. */
static void server_free(server* s) {
    for (int i = 0; i < s->n_workers && s->up; i++) free(s->up[i]);
    for (int i = 0; i < 2 * s->n_workers && s->down; i++) free(s->down[i]);
    free(s->up);
    free(s->down);
    free(s->upreq);
    free(s->downreq);
    free(s->slot);
    free(s->served);
    free(s->idx);
    free(s->sts);
    memset(s, 0, sizeof *s);
}

/* Allocates the server's buffers (before the ranks agree to start). */
static gd_status server_init(server* s, const gd_dist_work* w, MPI_Comm comm, int size, gd_error* err) {
    memset(s, 0, sizeof *s);
    const int W = size - 1;
    s->w = w;
    s->comm = comm;
    s->n_workers = W;
    s->up_cap = HDR + (w->result_bytes > sizeof(gd_error) ? w->result_bytes : sizeof(gd_error));
    s->up = calloc((size_t)W + 1, sizeof *s->up);
    s->down = calloc(2 * (size_t)W + 1, sizeof *s->down);
    s->upreq = malloc(sizeof(MPI_Request) * ((size_t)W + 1));
    s->downreq = malloc(sizeof(MPI_Request) * (2 * (size_t)W + 1));
    s->slot = calloc((size_t)W + 1, sizeof(int));
    s->served = calloc((size_t)W + 1, sizeof(int));
    s->idx = calloc((size_t)W + 1, sizeof(int));
    s->sts = calloc((size_t)W + 1, sizeof(MPI_Status));
    int ok = s->up && s->down && s->upreq && s->downreq && s->slot && s->served && s->idx && s->sts;
    for (int i = 0; i < W && ok; i++) {
        s->upreq[i] = s->downreq[2 * i] = s->downreq[2 * i + 1] = MPI_REQUEST_NULL;
        s->up[i] = malloc(s->up_cap);
        s->down[2 * i] = malloc(HDR + w->task_bytes);
        s->down[2 * i + 1] = malloc(HDR + w->task_bytes);
        ok = s->up[i] && s->down[2 * i] && s->down[2 * i + 1];
    }
    if (ok) return GD_OK;
    server_free(s);
    return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory for the work queue");
}

/* Dynamic mode, rank 0: takes its first item, waits until every worker has its first one (the workers ask at
 * once; a worker whose request rank 0 did not see before starting its own item would idle for that whole item:
 * with as many items as ranks, for the whole run), computes its item, then serves requests between its own
 * items, then until every worker said done. */
static gd_status server_run(server* s, unsigned char* own_task, unsigned char* own_result, gd_error* err) {
    const gd_dist_work* w = s->w;
    const int W = s->n_workers;
    gd_status st = GD_OK;
    int rc;
    for (int i = 0; i < W; i++)
        if ((rc = MPI_Irecv(s->up[i], (int)s->up_cap, MPI_BYTE, i + 1, MPI_ANY_TAG, s->comm, &s->upreq[i])) != MPI_SUCCESS)
            return mpi_err(rc, "MPI_Irecv", err);
    /* rank 0's first item, then one for each worker (its first request; the prefetch waits for the next poll) */
    size_t own = s->next < w->n_items ? s->next++ : SIZE_MAX;
    while (s->n_served < W && !s->failed && s->next < w->n_items)
        if ((st = poll(s, 1, err))) return st;
    for (;;) {
        if (own == SIZE_MAX) {
            if ((st = poll(s, 0, err))) return st;
            if (s->failed || s->next >= w->n_items) break;
            own = s->next++;
        }
        size_t item = own;
        own = SIZE_MAX;
        gd_status ws = w->pack(w->ctx, item, own_task, err);
        if (!ws) ws = w->work(w->ctx, item, own_task, own_result, err);
        if (!ws) ws = w->store(w->ctx, item, own_result, err);
        if (ws) s->failed = ws;
        else {
            s->stored++;
            if (w->progress) w->progress(w->ctx, s->stored, w->n_items);
        }
    }
    while (s->done_workers < W)
        if ((st = poll(s, 1, err))) return st;
    if ((rc = MPI_Waitall(2 * W, s->downreq, MPI_STATUSES_IGNORE)) != MPI_SUCCESS) return mpi_err(rc, "MPI_Waitall", err);
    if (!s->failed && s->stored != w->n_items)
        return gd_error_set(err, GD_EMPI, NULL, 0, 0, "this is a bug in gendec's work queue: please report it",
                            "work queue ended with %zu of %zu items", s->stored, w->n_items);
    return s->failed;
}

gd_status gd_dist_run(const gd_dist_work* w, int dynamic, MPI_Comm comm, gd_error* err) {
    const size_t lim = (size_t)INT_MAX - 64;
    if (!w->work || w->task_bytes == 0 || w->result_bytes == 0 || w->task_bytes > lim || w->result_bytes > lim ||
        w->n_items > (size_t)INT_MAX)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "use smaller chunks", "work items of %zu/%zu bytes, %zu items",
                            w->task_bytes, w->result_bytes, w->n_items);
    int rank, size;
    MPI_Comm c;
    int rc = MPI_Comm_dup(comm, &c);
    if (rc != MPI_SUCCESS) return mpi_err(rc, "MPI_Comm_dup", err);
    MPI_Comm_rank(c, &rank);
    MPI_Comm_size(c, &size);
    if (rank == 0 && (!w->pack || !w->store)) {
        MPI_Comm_free(&c);
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "work distribution without pack/store on rank 0");
    }
    gd_status st;
    if (!dynamic) {
        st = run_static(w, c, rank, size, err);
    } else {
        size_t upb = HDR + (w->result_bytes > sizeof(gd_error) ? w->result_bytes : sizeof(gd_error));
        unsigned char* down[2] = {NULL, NULL};
        unsigned char* up[2] = {NULL, NULL};
        unsigned char* own_task = NULL;
        unsigned char* own_result = NULL;
        if (rank == 0) {
            own_task = malloc(w->task_bytes);
            own_result = malloc(w->result_bytes);
        } else
            for (int q = 0; q < 2; q++) {
                down[q] = malloc(HDR + w->task_bytes);
                up[q] = malloc(upb);
            }
        server srv;
        memset(&srv, 0, sizeof srv);
        int ok = rank == 0 ? own_task && own_result : down[0] && down[1] && up[0] && up[1];
        st = ok ? GD_OK : gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory for the work queue");
        if (!st && rank == 0) st = server_init(&srv, w, c, size, err);
        /* An allocation failure must not leave the others in the protocol alone. */
        st = gd_dist_agree(st, c, err);
        if (!st) st = rank == 0 ? server_run(&srv, own_task, own_result, err) : worker(w, c, down, up, err);
        if (rank == 0) server_free(&srv);
        st = gd_dist_agree(st, c, err);
        for (int q = 0; q < 2; q++) {
            free(down[q]);
            free(up[q]);
        }
        free(own_task);
        free(own_result);
    }
    MPI_Comm_free(&c);
    return st;
}
