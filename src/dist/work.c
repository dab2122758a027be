/* Work distribution: static (Scatterv/Gatherv of rank blocks) and dynamic (items on request, rank 0 computing
 * too). Protocol of the dynamic mode, on a duplicate of the caller's communicator:
 *   worker -> 0, TAG_UP:   {int64 item (-1: none), int64 status} [+ result | + gd_error when status != OK]
 *   0 -> worker, TAG_DOWN: {int64 item (-1: stop), int64 0} [+ task]
 *   worker -> 0, TAG_DONE: empty, after the worker has received the reply to every message it sent.
 * Each worker starts with two requests in flight and sends one message per finished item, so one task is
 * always waiting for it; each message gets exactly one reply; once items are exhausted (or anything failed)
 * every reply is "stop". */
#include <limits.h>
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

/* Dynamic mode, a rank other than 0. */
static gd_status worker(const gd_dist_work* w, MPI_Comm comm, unsigned char* down, unsigned char* up, gd_error* err) {
    gd_status st = GD_OK;
    int64_t hdr[2] = {-1, GD_OK};
    int outstanding = 0, stopped = 0, rc;
    for (int q = 0; q < 2; q++) {
        if ((rc = MPI_Send(hdr, HDR, MPI_BYTE, 0, TAG_UP, comm)) != MPI_SUCCESS) return mpi_err(rc, "MPI_Send", err);
        outstanding++;
    }
    while (outstanding > 0) {
        rc = MPI_Recv(down, (int)(HDR + w->task_bytes), MPI_BYTE, 0, TAG_DOWN, comm, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return mpi_err(rc, "MPI_Recv", err);
        outstanding--;
        int64_t item;
        memcpy(&item, down, sizeof item);
        if (item < 0 || stopped) {
            stopped = 1;
            continue;
        }
        st = w->work(w->ctx, (size_t)item, down + HDR, up + HDR, err);
        int64_t h[2] = {item, st};
        memcpy(up, h, HDR);
        size_t len = HDR + (st ? sizeof(gd_error) : w->result_bytes);
        if (st) {
            gd_error copy = err ? *err : (gd_error){.code = st};
            memcpy(up + HDR, &copy, sizeof copy);
            stopped = 1;
        }
        if ((rc = MPI_Send(up, (int)len, MPI_BYTE, 0, TAG_UP, comm)) != MPI_SUCCESS) return mpi_err(rc, "MPI_Send", err);
        outstanding++;
    }
    if ((rc = MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_DONE, comm)) != MPI_SUCCESS) return mpi_err(rc, "MPI_Send", err);
    return st;
}

typedef struct {
    const gd_dist_work* w;
    MPI_Comm comm;
    size_t next, stored;
    int done_workers;
    gd_status failed;
    unsigned char *down, *up;
} server;

/* Receives one message (already probed: status) and answers it. */
static gd_status serve(server* s, MPI_Status* ps, gd_error* err) {
    const gd_dist_work* w = s->w;
    int src = ps->MPI_SOURCE, len = 0, rc;
    if (ps->MPI_TAG == TAG_DONE) {
        rc = MPI_Recv(NULL, 0, MPI_BYTE, src, TAG_DONE, s->comm, MPI_STATUS_IGNORE);
        s->done_workers++;
        return rc == MPI_SUCCESS ? GD_OK : mpi_err(rc, "MPI_Recv", err);
    }
    MPI_Get_count(ps, MPI_BYTE, &len);
    size_t cap = HDR + (w->result_bytes > sizeof(gd_error) ? w->result_bytes : sizeof(gd_error));
    if (len < HDR || (size_t)len > cap)
        return gd_error_set(err, GD_EMPI, NULL, 0, 0, NULL, "work queue: message of %d bytes from rank %d", len, src);
    rc = MPI_Recv(s->up, len, MPI_BYTE, src, TAG_UP, s->comm, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) return mpi_err(rc, "MPI_Recv", err);
    int64_t h[2];
    memcpy(h, s->up, HDR);
    if (h[0] >= 0 && !s->failed) {
        if (h[1] != GD_OK) {
            gd_error remote;
            memcpy(&remote, s->up + HDR, sizeof remote);
            remote.msg[sizeof remote.msg - 1] = remote.file[sizeof remote.file - 1] = remote.hint[sizeof remote.hint - 1] = 0;
            if (err) *err = remote;
            gd_error_prefix(err, "rank %d, item %lld", src, (long long)h[0]);
            s->failed = (gd_status)h[1];
        } else {
            gd_status st = w->store(w->ctx, (size_t)h[0], s->up + HDR, err);
            if (st) s->failed = st;
            else {
                s->stored++;
                if (w->progress) w->progress(w->ctx, s->stored, w->n_items);
            }
        }
    }
    int64_t d[2] = {-1, 0};
    size_t out = HDR;
    if (!s->failed && s->next < w->n_items) {
        size_t item = s->next++;
        gd_status st = w->pack(w->ctx, item, s->down + HDR, err);
        if (st) s->failed = st;
        else {
            d[0] = (int64_t)item;
            out += w->task_bytes;
        }
    }
    memcpy(s->down, d, HDR);
    rc = MPI_Send(s->down, (int)out, MPI_BYTE, src, TAG_DOWN, s->comm);
    return rc == MPI_SUCCESS ? GD_OK : mpi_err(rc, "MPI_Send", err);
}

/* Dynamic mode, rank 0: serves requests between its own items, then until every worker said done. */
static gd_status server_run(const gd_dist_work* w, MPI_Comm comm, int size, unsigned char* down, unsigned char* up,
                            unsigned char* own_task, unsigned char* own_result, gd_error* err) {
    server s = {.w = w, .comm = comm, .down = down, .up = up};
    gd_status st = GD_OK;
    MPI_Status ps;
    int flag, rc;
    for (;;) {
        for (;;) {
            rc = MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &flag, &ps);
            if (rc != MPI_SUCCESS) return mpi_err(rc, "MPI_Iprobe", err);
            if (!flag) break;
            if ((st = serve(&s, &ps, err))) return st;
        }
        if (s.failed || s.next >= w->n_items) break;
        size_t item = s.next++;
        gd_status ws = w->pack(w->ctx, item, own_task, err);
        if (!ws) ws = w->work(w->ctx, item, own_task, own_result, err);
        if (!ws) ws = w->store(w->ctx, item, own_result, err);
        if (ws) s.failed = ws;
        else {
            s.stored++;
            if (w->progress) w->progress(w->ctx, s.stored, w->n_items);
        }
    }
    while (s.done_workers < size - 1) {
        rc = MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &ps);
        if (rc != MPI_SUCCESS) return mpi_err(rc, "MPI_Probe", err);
        if ((st = serve(&s, &ps, err))) return st;
    }
    if (!s.failed && s.stored != w->n_items)
        return gd_error_set(err, GD_EMPI, NULL, 0, 0, "this is a bug in gendec's work queue: please report it",
                            "work queue ended with %zu of %zu items", s.stored, w->n_items);
    return s.failed;
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
        unsigned char* down = malloc(HDR + w->task_bytes);
        unsigned char* up = malloc(upb);
        unsigned char* own_task = rank == 0 ? malloc(w->task_bytes) : NULL;
        unsigned char* own_result = rank == 0 ? malloc(w->result_bytes) : NULL;
        if (!down || !up || (rank == 0 && (!own_task || !own_result)))
            st = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory for the work queue");
        else
            st = GD_OK;
        /* An allocation failure must not leave the others in the protocol alone. */
        st = gd_dist_agree(st, c, err);
        if (!st) st = rank == 0 ? server_run(w, c, size, down, up, own_task, own_result, err) : worker(w, c, down, up, err);
        st = gd_dist_agree(st, c, err);
        free(down);
        free(up);
        free(own_task);
        free(own_result);
    }
    MPI_Comm_free(&c);
    return st;
}
