/* clayer_mpi: data-parallel training across processes over MPI, apart from
 * libclayer so that the core library needs no MPI. It gives libclayer's
 * cly_transport (clayer.h, "parts") MPI's collectives, each non-blocking and
 * polled against a timeout, so that a rank that died or never came makes
 * the others fail with a message within the bound instead of hanging.
 *
 *     cly_mpi *m;
 *     cly_mpi_create(&argc, &argv, &(cly_mpi_options){.timeout_s = 60}, &m);
 *     ... one net per rank, batch = the group's batch / cly_mpi_ranks(m),
 *         cly_train_params.accumulate = ranks x the group's accumulate ...
 *     cly_net_sync_part(net, cly_mpi_transport(m));
 *     for each group batch: cly_net_set_input(net, ..., micro-batch rank),
 *                           cly_net_train_part(net, cly_mpi_transport(m),
 * labels, micro, &loss); if (cly_mpi_rank(m) == 0) cly_net_save(net, path);
 *     cly_mpi_destroy(m);
 *
 * The gradient exchange is exact and order-free: every rank receives every
 * rank's gradients unchanged and sums them in rank order itself (an
 * MPI_Allreduce with MPI_SUM would group the sum as its reduction tree
 * likes, so its bits would depend on the rank count and the MPI library).
 * Each rank receives ranks x the gradient's size per exchange, by
 * MPI_Allgather (default) or by MPI_Allreduce with MPI_BOR over a zeroed
 * ranks x n buffer in which each rank fills its own slot (same bits, about
 * twice the traffic plus the operator's pass). Errors come back as cly_status with the
 * reason in cly_mpi_last_error (the library never aborts the job itself:
 * cly_mpi_abort is for the caller). */
#ifndef CLAYER_MPI_H
#define CLAYER_MPI_H

#include "clayer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cly_mpi cly_mpi;

/* How the gradients reach every rank; both give the same bits. */
typedef enum cly_mpi_exchange {
    CLY_MPI_EXCHANGE_ALLGATHER = 0,     /* MPI_Allgather of every rank's slot */
    CLY_MPI_EXCHANGE_ALLREDUCE_BOR = 1, /* MPI_Allreduce, MPI_BOR, of zero-padded slots */
} cly_mpi_exchange;

typedef struct cly_mpi_options {
    /* Seconds any one exchange may wait for the other ranks before it fails
     * naming the wait (0: 60). A step's exchange waits for the slowest rank's
     * forward and backward, so allow for those. */
    double timeout_s;
    cly_mpi_exchange exchange;
} cly_mpi_options;

/* Join the job: MPI_Init (unless MPI is initialised already, then
 * MPI_COMM_WORLD as it is), a duplicate of MPI_COMM_WORLD for the group.
 * argc and argv may be NULL (MPI_Init's own rule). options may be NULL (the
 * defaults). Errors: CLY_ERROR_INVALID_ARGUMENT (out NULL, a timeout that
 * is negative, not finite or above a day, an unknown exchange), CLY_ERROR_IO (MPI failed: its
 * message), CLY_ERROR_OUT_OF_HOST_MEMORY; the reason in
 * cly_mpi_last_error(NULL). MPI_Init itself cannot time out: a rank that
 * never starts keeps the others in it (clayer train watches that with an
 * alarm of its own). */
CLY_API cly_status cly_mpi_create(int *argc, char ***argv, const cly_mpi_options *options, cly_mpi **out);
/* Leave the job: frees the communicator, and MPI_Finalize when create
 * initialised MPI. NULL is a no-op. After a failed exchange MPI may hold a
 * request that never completes: end the job with cly_mpi_abort instead. */
CLY_API void cly_mpi_destroy(cly_mpi *m);

/* This process's rank and the job's size (-1 and 0 for NULL). */
CLY_API int cly_mpi_rank(const cly_mpi *m);
CLY_API int cly_mpi_ranks(const cly_mpi *m);
/* This rank among those on the same machine (MPI_COMM_TYPE_SHARED), from
 * 0: for a rule that gives each rank of a machine its own device. */
CLY_API int cly_mpi_local_rank(const cly_mpi *m);
/* The transport for cly_net_train_part and cly_net_sync_part; owned by m. */
CLY_API const cly_transport *cly_mpi_transport(cly_mpi *m);

/* values[i] = the sum over the ranks of values[i] (exact: integers), for
 * every rank; `what` names the values in a failure. Collective. Errors:
 * CLY_ERROR_INVALID_ARGUMENT (NULLs, count above 2^28), CLY_ERROR_IO (MPI
 * failed or timed out, naming `what` and the wait). */
CLY_API cly_status cly_mpi_sum_int64(cly_mpi *m, int64_t *values, size_t count, const char *what);
/* Wait, within the timeout, until every rank has called it. Collective. */
CLY_API cly_status cly_mpi_barrier(cly_mpi *m, const char *what);

/* Why the last failed call on m (NULL: the last failed cly_mpi_create of
 * this thread) failed; "" when none did. */
CLY_API const char *cly_mpi_last_error(const cly_mpi *m);
/* End every rank of the job now (MPI_Abort with `code`), after printing
 * nothing: the caller says why first. For a failure that leaves the group
 * unable to go on. Does not return. NULL: MPI_COMM_WORLD. */
CLY_API void cly_mpi_abort(const cly_mpi *m, int code);

#ifdef __cplusplus
}
#endif

#endif
