/* `clayer train --mpi`: joining the MPI job, the per-rank device rule and
 * the job's end, over libclayer_mpi; in a build without it, a clear error. */
#include "cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef CLAYER_HAVE_MPI
#include "clayer_mpi.h"

/* MPI_Init cannot time out: a rank stuck there (a peer that never started)
 * is ended by this alarm, which mpirun then reports for the whole job. */
static void join_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "clayer: train: this rank did not join the MPI job within --mpi-timeout seconds "
                              "(MPI_Init did not return: a rank never started or cannot reach the others)\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    _exit(EXIT_RUNTIME);
}

int cli_mpi_join(double timeout_s, bool bor, cli_mpi **out)
{
    struct sigaction sa = {0}, old;
    sa.sa_handler = join_alarm;
    sigaction(SIGALRM, &sa, &old);
    alarm((unsigned)(timeout_s + 0.999));
    cly_mpi *m = NULL;
    cly_status s = cly_mpi_create(
        NULL, NULL,
        &(cly_mpi_options){.timeout_s = timeout_s,
                           .exchange = bor ? CLY_MPI_EXCHANGE_ALLREDUCE_BOR : CLY_MPI_EXCHANGE_ALLGATHER},
        &m);
    alarm(0);
    sigaction(SIGALRM, &old, NULL);
    if (s != CLY_SUCCESS) {
        fprintf(stderr, "clayer: train: %s: %s\n", cly_status_string(s), cly_mpi_last_error(NULL));
        return EXIT_RUNTIME;
    }
    *out = (cli_mpi *)m;
    return 0;
}

int cli_mpi_rank(const cli_mpi *m)
{
    return cly_mpi_rank((const cly_mpi *)m);
}

int cli_mpi_ranks(const cli_mpi *m)
{
    return cly_mpi_ranks((const cly_mpi *)m);
}

int cli_mpi_local_rank(const cli_mpi *m)
{
    return cly_mpi_local_rank((const cly_mpi *)m);
}

const cly_transport *cli_mpi_transport(cli_mpi *m)
{
    return cly_mpi_transport((cly_mpi *)m);
}

int cli_mpi_sum(cli_mpi *m, int64_t *values, size_t count, const char *what)
{
    cly_status s = cly_mpi_sum_int64((cly_mpi *)m, values, count, what);
    if (s == CLY_SUCCESS)
        return 0;
    fprintf(stderr, "clayer: train: %s: %s\n", cly_status_string(s), cly_mpi_last_error((cly_mpi *)m));
    return EXIT_RUNTIME;
}

void cli_mpi_leave(cli_mpi *m, int rc)
{
    if (!m)
        return;
    cly_mpi *c = (cly_mpi *)m;
    /* A rank that failed ends the job: the others would wait for it. */
    if (rc != 0 && cly_mpi_ranks(c) > 1) {
        fprintf(stderr, "clayer: train: rank %d of %d failed: ending the MPI job\n", cly_mpi_rank(c), cly_mpi_ranks(c));
        fflush(stderr);
        fflush(stdout);
        cly_mpi_abort(c, rc);
    }
    /* Every rank leaves together, after rank 0 has saved. */
    if (cly_mpi_barrier(c, "the end of training") != CLY_SUCCESS) {
        fprintf(stderr, "clayer: train: %s\n", cly_mpi_last_error(c));
        fflush(stderr);
        cly_mpi_abort(c, EXIT_RUNTIME);
    }
    cly_mpi_destroy(c);
}

#else

int cli_mpi_join(double timeout_s, bool bor, cli_mpi **out)
{
    (void)timeout_s, (void)bor;
    (void)out;
    fprintf(stderr, "clayer: train: --mpi needs libclayer_mpi, and this clayer was built without MPI (install Debian's "
                    "libopenmpi-dev and openmpi-bin, then meson setup -Dmpi=enabled)\n");
    return EXIT_USAGE;
}

int cli_mpi_rank(const cli_mpi *m)
{
    (void)m;
    return 0;
}

int cli_mpi_ranks(const cli_mpi *m)
{
    (void)m;
    return 1;
}

int cli_mpi_local_rank(const cli_mpi *m)
{
    (void)m;
    return 0;
}

const cly_transport *cli_mpi_transport(cli_mpi *m)
{
    (void)m;
    return NULL;
}

int cli_mpi_sum(cli_mpi *m, int64_t *values, size_t count, const char *what)
{
    (void)m, (void)values, (void)count, (void)what;
    return 0;
}

void cli_mpi_leave(cli_mpi *m, int rc)
{
    (void)m, (void)rc;
}

#endif
