/* libclayer_mpi: cly_transport over MPI (clayer_mpi.h). Every exchange is a
 * non-blocking MPI call polled with MPI_Test against the timeout, so that a
 * missing rank ends in a message, never a hang. */
#include "clayer_mpi.h"

#include <math.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cly_mpi {
    MPI_Comm comm; /* a duplicate of MPI_COMM_WORLD, errors returned, not fatal */
    int rank, ranks;
    int local_rank; /* among the ranks of this machine (MPI_COMM_TYPE_SHARED) */
    double timeout_s;
    cly_mpi_exchange exchange;
    bool initialised; /* create called MPI_Init: destroy finalises */
    cly_transport transport;
    char error[1024];
};

static _Thread_local char create_error[1024];

/* The largest count one MPI call gets (MPI's counts are int). */
#define CHUNK_ELEMS ((size_t)1 << 28)

static void say(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
}

static void mpi_reason(int code, char *out, size_t size)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "MPI error %d", code);
    snprintf(out, size, "%s", text);
}

/* Poll `req` until it completes (0) or the timeout passes (1, with why
 * naming `call`, the peer and the wait). Sleeps between polls, short at
 * first, so that the pocl threads keep the cores while a peer computes. */
static int wait_for(cly_mpi *m, MPI_Request *req, const char *call, const char *peer, char *why, size_t size)
{
    double t0 = MPI_Wtime();
    long nap_ns = 2000;
    for (;;) {
        int done = 0, rc = MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) {
            char r[MPI_MAX_ERROR_STRING];
            mpi_reason(rc, r, sizeof r);
            say(why, size, "rank %d: %s failed: %s", m->rank, call, r);
            return 1;
        }
        if (done)
            return 0;
        double waited = MPI_Wtime() - t0;
        if (waited > m->timeout_s) {
            say(why, size,
                "rank %d waited %.1f s (the timeout) in %s for %s: a rank died, hangs or never joined the job", m->rank,
                waited, call, peer);
            return 1;
        }
        struct timespec nap = {0, nap_ns};
        nanosleep(&nap, NULL);
        if (nap_ns < 500000)
            nap_ns *= 2;
    }
}

static int started(cly_mpi *m, int rc, const char *call, char *why, size_t size)
{
    if (rc == MPI_SUCCESS)
        return 0;
    char r[MPI_MAX_ERROR_STRING];
    mpi_reason(rc, r, sizeof r);
    say(why, size, "rank %d: %s failed: %s", m->rank, call, r);
    return 1;
}

/* Exact and order-free either way: each rank's bytes land unchanged in its
 * own slot of `all`. MPI_Allgather moves them as they are; the MPI_BOR form
 * puts them in a zeroed ranks x bytes buffer and ORs the buffers (an
 * MPI_Allreduce, twice the traffic and a pass of the operator: on this
 * machine about 25 times slower for resnet18's gradients, see README). */
static int gather_all(void *user, const void *mine, void *all, size_t bytes, char *why, size_t size)
{
    cly_mpi *m = user;
    bool bor = m->exchange == CLY_MPI_EXCHANGE_ALLREDUCE_BOR;
    if (bor)
        memset(all, 0, bytes * (size_t)m->ranks);
    memcpy((char *)all + bytes * (size_t)m->rank, mine, bytes);
    bool words = bytes % 4 == 0;
    size_t unit = words ? 4 : 1, per = bytes / unit;
    MPI_Datatype type = words ? MPI_UINT32_T : MPI_BYTE;
    if (!bor) {
        /* One call per chunk of every slot: a derived type of `per` units
         * keeps each rank's count an int for any size. */
        MPI_Datatype slot;
        int rc = MPI_Type_contiguous((int)(per < CHUNK_ELEMS ? per : CHUNK_ELEMS), type, &slot);
        if (per > CHUNK_ELEMS || rc != MPI_SUCCESS || (rc = MPI_Type_commit(&slot)) != MPI_SUCCESS) {
            if (rc == MPI_SUCCESS)
                MPI_Type_free(&slot);
            say(why, size, "rank %d: %zu bytes per rank are more than one MPI_Allgather takes here (%zu)", m->rank,
                bytes, CHUNK_ELEMS * unit);
            return 1;
        }
        MPI_Request req;
        int bad = started(m, MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, 1, slot, m->comm, &req),
                          "MPI_Iallgather", why, size) ||
                  wait_for(m, &req, "MPI_Iallgather", "every rank's part", why, size);
        MPI_Type_free(&slot);
        return bad;
    }
    size_t elems = per * (size_t)m->ranks;
    for (size_t at = 0; at < elems; at += CHUNK_ELEMS) {
        size_t n = elems - at < CHUNK_ELEMS ? elems - at : CHUNK_ELEMS;
        MPI_Request req;
        void *base = (char *)all + at * unit;
        if (started(m, MPI_Iallreduce(MPI_IN_PLACE, base, (int)n, type, MPI_BOR, m->comm, &req), "MPI_Iallreduce", why,
                    size) ||
            wait_for(m, &req, "MPI_Iallreduce (MPI_BOR)", "every rank's part", why, size))
            return 1;
    }
    return 0;
}

static int broadcast(void *user, int root, void *buf, size_t bytes, char *why, size_t size)
{
    cly_mpi *m = user;
    char peer[64];
    snprintf(peer, sizeof peer, "rank %d's data", root);
    for (size_t at = 0; at < bytes; at += CHUNK_ELEMS) {
        size_t n = bytes - at < CHUNK_ELEMS ? bytes - at : CHUNK_ELEMS;
        MPI_Request req;
        if (started(m, MPI_Ibcast((char *)buf + at, (int)n, MPI_BYTE, root, m->comm, &req), "MPI_Ibcast", why, size) ||
            wait_for(m, &req, "MPI_Ibcast", peer, why, size))
            return 1;
    }
    return 0;
}

enum { TAG = 7 };

static int mpi_send(void *user, int to, const void *buf, size_t bytes, char *why, size_t size)
{
    cly_mpi *m = user;
    char peer[64];
    snprintf(peer, sizeof peer, "rank %d to receive", to);
    for (size_t at = 0; at < bytes; at += CHUNK_ELEMS) {
        size_t n = bytes - at < CHUNK_ELEMS ? bytes - at : CHUNK_ELEMS;
        MPI_Request req;
        if (started(m, MPI_Isend((const char *)buf + at, (int)n, MPI_BYTE, to, TAG, m->comm, &req), "MPI_Isend", why,
                    size) ||
            wait_for(m, &req, "MPI_Isend", peer, why, size))
            return 1;
    }
    return 0;
}

static int mpi_recv(void *user, int from, void *buf, size_t bytes, char *why, size_t size)
{
    cly_mpi *m = user;
    char peer[64];
    snprintf(peer, sizeof peer, "rank %d to send", from);
    for (size_t at = 0; at < bytes; at += CHUNK_ELEMS) {
        size_t n = bytes - at < CHUNK_ELEMS ? bytes - at : CHUNK_ELEMS;
        MPI_Request req;
        if (started(m, MPI_Irecv((char *)buf + at, (int)n, MPI_BYTE, from, TAG, m->comm, &req), "MPI_Irecv", why,
                    size) ||
            wait_for(m, &req, "MPI_Irecv", peer, why, size))
            return 1;
    }
    return 0;
}

/* The rank among this machine's ranks, for a rank -> device rule. */
static int local_rank(cly_mpi *m)
{
    MPI_Comm node;
    int rc = MPI_Comm_split_type(m->comm, MPI_COMM_TYPE_SHARED, m->rank, MPI_INFO_NULL, &node);
    if (rc != MPI_SUCCESS)
        return rc;
    rc = MPI_Comm_rank(node, &m->local_rank);
    MPI_Comm_free(&node);
    return rc;
}

static cly_status create_fail(cly_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cly_status create_fail(cly_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(create_error, sizeof create_error, fmt, ap);
    va_end(ap);
    return s;
}

cly_status cly_mpi_create(int *argc, char ***argv, const cly_mpi_options *options, cly_mpi **out)
{
    create_error[0] = '\0';
    if (!out)
        return create_fail(CLY_ERROR_INVALID_ARGUMENT, "cly_mpi_create: out must not be NULL");
    double timeout = options ? options->timeout_s : 0;
    cly_mpi_exchange exchange = options ? options->exchange : CLY_MPI_EXCHANGE_ALLGATHER;
    if ((unsigned)exchange > CLY_MPI_EXCHANGE_ALLREDUCE_BOR)
        return create_fail(CLY_ERROR_INVALID_ARGUMENT, "cly_mpi_create: unknown exchange %d (want %d or %d)",
                           (int)exchange, CLY_MPI_EXCHANGE_ALLGATHER, CLY_MPI_EXCHANGE_ALLREDUCE_BOR);
    if (!isfinite(timeout) || timeout < 0 || timeout > 86400)
        return create_fail(CLY_ERROR_INVALID_ARGUMENT, "cly_mpi_create: timeout_s must be in [0, 86400] (got %g)",
                           timeout);
    int ready = 0, rc;
    if ((rc = MPI_Initialized(&ready)) != MPI_SUCCESS)
        return create_fail(CLY_ERROR_IO, "cly_mpi_create: MPI_Initialized failed (MPI error %d)", rc);
    cly_mpi *m = calloc(1, sizeof *m);
    if (!m)
        return create_fail(CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_mpi_create");
    m->comm = MPI_COMM_NULL;
    m->timeout_s = timeout > 0 ? timeout : 60;
    m->exchange = exchange;
    char r[MPI_MAX_ERROR_STRING];
    if (!ready) {
        if ((rc = MPI_Init(argc, argv)) != MPI_SUCCESS) {
            free(m);
            mpi_reason(rc, r, sizeof r);
            return create_fail(CLY_ERROR_IO, "cly_mpi_create: MPI_Init failed: %s", r);
        }
        m->initialised = true;
    }
    /* Errors come back to us (then a message) instead of ending the job. */
    if ((rc = MPI_Comm_dup(MPI_COMM_WORLD, &m->comm)) != MPI_SUCCESS ||
        (rc = MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN)) != MPI_SUCCESS ||
        (rc = MPI_Comm_rank(m->comm, &m->rank)) != MPI_SUCCESS ||
        (rc = MPI_Comm_size(m->comm, &m->ranks)) != MPI_SUCCESS || (rc = local_rank(m)) != MPI_SUCCESS) {
        mpi_reason(rc, r, sizeof r);
        cly_mpi_destroy(m);
        return create_fail(CLY_ERROR_IO, "cly_mpi_create: setting up the communicator failed: %s", r);
    }
    m->transport = (cly_transport){.user = m,
                                   .rank = m->rank,
                                   .ranks = m->ranks,
                                   .gather_all = gather_all,
                                   .broadcast = broadcast,
                                   .send = mpi_send,
                                   .recv = mpi_recv};
    *out = m;
    return CLY_SUCCESS;
}

void cly_mpi_destroy(cly_mpi *m)
{
    if (!m)
        return;
    if (m->comm != MPI_COMM_NULL)
        MPI_Comm_free(&m->comm);
    if (m->initialised)
        MPI_Finalize();
    free(m);
}

int cly_mpi_rank(const cly_mpi *m)
{
    return m ? m->rank : -1;
}

int cly_mpi_ranks(const cly_mpi *m)
{
    return m ? m->ranks : 0;
}

int cly_mpi_local_rank(const cly_mpi *m)
{
    return m ? m->local_rank : -1;
}

const cly_transport *cly_mpi_transport(cly_mpi *m)
{
    return m ? &m->transport : NULL;
}

cly_status cly_mpi_sum_int64(cly_mpi *m, int64_t *values, size_t count, const char *what)
{
    if (!m)
        return create_fail(CLY_ERROR_INVALID_ARGUMENT, "cly_mpi_sum_int64: m must not be NULL");
    m->error[0] = '\0';
    if (!values || !what) {
        snprintf(m->error, sizeof m->error, "cly_mpi_sum_int64: values and what must not be NULL");
        return CLY_ERROR_INVALID_ARGUMENT;
    }
    if (count > CHUNK_ELEMS) {
        snprintf(m->error, sizeof m->error, "cly_mpi_sum_int64: %s: %zu values, at most %zu", what, count, CHUNK_ELEMS);
        return CLY_ERROR_INVALID_ARGUMENT;
    }
    char why[768] = "";
    MPI_Request req;
    if (count && (started(m, MPI_Iallreduce(MPI_IN_PLACE, values, (int)count, MPI_INT64_T, MPI_SUM, m->comm, &req),
                          "MPI_Iallreduce", why, sizeof why) ||
                  wait_for(m, &req, "MPI_Iallreduce (MPI_SUM)", "every rank's values", why, sizeof why))) {
        snprintf(m->error, sizeof m->error, "cly_mpi_sum_int64: %s: %s", what, why);
        return CLY_ERROR_IO;
    }
    return CLY_SUCCESS;
}

cly_status cly_mpi_barrier(cly_mpi *m, const char *what)
{
    if (!m)
        return create_fail(CLY_ERROR_INVALID_ARGUMENT, "cly_mpi_barrier: m must not be NULL");
    m->error[0] = '\0';
    if (!what) {
        snprintf(m->error, sizeof m->error, "cly_mpi_barrier: what must not be NULL");
        return CLY_ERROR_INVALID_ARGUMENT;
    }
    char why[768] = "";
    MPI_Request req;
    if (started(m, MPI_Ibarrier(m->comm, &req), "MPI_Ibarrier", why, sizeof why) ||
        wait_for(m, &req, "MPI_Ibarrier", "every rank", why, sizeof why)) {
        snprintf(m->error, sizeof m->error, "cly_mpi_barrier: %s: %s", what, why);
        return CLY_ERROR_IO;
    }
    return CLY_SUCCESS;
}

const char *cly_mpi_last_error(const cly_mpi *m)
{
    return m ? m->error : create_error;
}

void cly_mpi_abort(const cly_mpi *m, int code)
{
    MPI_Abort(m ? m->comm : MPI_COMM_WORLD, code);
    exit(code); /* MPI_Abort returned: end this rank at least */
}
