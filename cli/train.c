/* `clayer train`: Fashion-MNIST training with a progress bar (step, time,
 * running loss and accuracy), the test accuracy after every epoch, a model
 * file at the end. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char train_usage[] =
    "usage: clayer train [--net FILE|NAME] [--epochs N] [--batch N] [--device SEL] [--save PATH]\n"
    "                    [--optimizer sgd|adam] [--lr X] [--momentum X] [--weight-decay X] [--seed N]\n"
    "                    [--data DIR] [--limit N] [--test-limit N] [--log-every N] [--accumulate N]\n"
    "                    [--mpi [--mpi-timeout S] [--mpi-exchange allgather|bor]]\n"
    "  train a net on Fashion-MNIST, the test accuracy after every epoch; the learning\n"
    "  rate drops tenfold for the last epoch\n"
    "  --net FILE|NAME     a net file or built-in net (default: the built-in 'fashion')\n"
    "  --epochs N          epochs, 1 to 1000 (default 5)\n"
    "  --batch N           batch size, 1 to 4096 (default 64)\n"
    "  --device SEL        the device (default: $CLAYER_DEVICE, else the library's pick); a\n"
    "                      comma-separated list (0:0,0:1) trains data-parallel on each,\n"
    "                      the batch split equally, bit for bit as on one device\n"
    "  --save PATH         write the trained model file there\n"
    "  --optimizer NAME    sgd (Nesterov momentum) or adam (default)\n"
    "  --lr X              learning rate, (0, 10] (default 0.001)\n"
    "  --momentum X        SGD's momentum, [0, 0.999] (default 0.9)\n"
    "  --weight-decay X    L2 weight decay, [0, 1] (default 0)\n"
    "  --seed N            seed of the weights and the shuffling (default 1)\n"
    "  --data DIR          Fashion-MNIST's IDX files from DIR (default: Debian's\n"
    "                      dataset-fashion-mnist)\n"
    "  --limit N           at most N training images per epoch (0: all)\n"
    "  --test-limit N      test on the first N test images only (0: all)\n"
    "  --log-every N       when stderr is no terminal: a progress line every N steps\n"
    "                      (default: one per epoch)\n"
    "  --accumulate N      sum the gradients of N batches per update, 1 to 1024 (default 1)\n"
    "  --mpi               one rank of an MPI job (mpirun -np R clayer train --mpi ...):\n"
    "                      rank r trains micro-batch r of every batch, bit for bit as one\n"
    "                      process with --batch N/R --accumulate R x N; rank 0 prints and\n"
    "                      saves; a --device list gives a machine's k-th rank entry k\n"
    "                      (mod its length)\n"
    "  --mpi-timeout S     seconds a rank waits for the others before the job ends with\n"
    "                      an error naming the wait, 1 to 86400 (default 60)\n"
    "  --mpi-exchange HOW  how the gradients reach every rank, both exact and giving the\n"
    "                      same bits: allgather (MPI_Allgather, default) or bor\n"
    "                      (MPI_Allreduce with MPI_BOR over zero-padded slots, slower)\n";

enum {
    OPT_NET = 256, OPT_EPOCHS, OPT_BATCH, OPT_DEVICE, OPT_SAVE, OPT_OPTIMIZER, OPT_LR, OPT_MOMENTUM, OPT_DECAY,
    OPT_SEED, OPT_DATA, OPT_LIMIT, OPT_TEST_LIMIT, OPT_LOG_EVERY, OPT_ACCUMULATE, OPT_MPI, OPT_MPI_TIMEOUT,
    OPT_MPI_EXCHANGE
};
static const struct option train_options[] = {
    {"net", required_argument, NULL, OPT_NET},           {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"batch", required_argument, NULL, OPT_BATCH},       {"device", required_argument, NULL, OPT_DEVICE},
    {"save", required_argument, NULL, OPT_SAVE},         {"optimizer", required_argument, NULL, OPT_OPTIMIZER},
    {"lr", required_argument, NULL, OPT_LR},             {"momentum", required_argument, NULL, OPT_MOMENTUM},
    {"weight-decay", required_argument, NULL, OPT_DECAY}, {"seed", required_argument, NULL, OPT_SEED},
    {"data", required_argument, NULL, OPT_DATA},         {"limit", required_argument, NULL, OPT_LIMIT},
    {"test-limit", required_argument, NULL, OPT_TEST_LIMIT}, {"log-every", required_argument, NULL, OPT_LOG_EVERY},
    {"accumulate", required_argument, NULL, OPT_ACCUMULATE}, {"mpi", no_argument, NULL, OPT_MPI},
    {"mpi-timeout", required_argument, NULL, OPT_MPI_TIMEOUT}, {"mpi-exchange", required_argument, NULL, OPT_MPI_EXCHANGE},
    CLI_HELP_OPTION,
    {0}};
static const cli_command train_command = {"train", train_usage, train_options, "h"};

typedef struct train_opts {
    const char *net_path, *selector, *save, *data_dir, *optimizer;
    long long epochs, batch, seed, limit, test_limit, log_every, accumulate;
    double lr, momentum, decay, mpi_timeout;
    bool momentum_given, mpi, mpi_timeout_given, mpi_bor, mpi_exchange_given;
} train_opts;

/* 0; -1 after printing the help; else the exit code after saying what is
 * wrong. */
static int parse_train(int argc, char **argv, train_opts *t)
{
    int o, ok = 1;
    while (ok && (o = cli_getopt(&train_command, argc, argv)) > 0) {
        switch (o) {
        case OPT_NET: t->net_path = optarg; break;
        case OPT_DEVICE: t->selector = optarg; break;
        case OPT_SAVE: t->save = optarg; break;
        case OPT_DATA: t->data_dir = optarg; break;
        case OPT_OPTIMIZER:
            t->optimizer = optarg;
            if (strcmp(optarg, "sgd") != 0 && strcmp(optarg, "adam") != 0)
                return cli_usage_error(&train_command, "--optimizer expects sgd or adam, got '%s'", optarg);
            break;
        case OPT_EPOCHS: ok = cli_parse_int("train", "--epochs", optarg, 1, 1000, &t->epochs); break;
        case OPT_BATCH: ok = cli_parse_int("train", "--batch", optarg, 1, 4096, &t->batch); break;
        case OPT_SEED: ok = cli_parse_int("train", "--seed", optarg, 0, INT64_MAX, &t->seed); break;
        case OPT_LIMIT: ok = cli_parse_int("train", "--limit", optarg, 0, 1000000000, &t->limit); break;
        case OPT_TEST_LIMIT:
            ok = cli_parse_int("train", "--test-limit", optarg, 0, 1000000000, &t->test_limit);
            break;
        case OPT_ACCUMULATE: ok = cli_parse_int("train", "--accumulate", optarg, 1, 1024, &t->accumulate); break;
        case OPT_LOG_EVERY: ok = cli_parse_int("train", "--log-every", optarg, 1, 1000000000, &t->log_every); break;
        case OPT_LR:
            ok = cli_parse_double("train", "--lr", optarg, 0, 10, &t->lr);
            if (ok && t->lr == 0)
                return cli_usage_error(&train_command, "--lr must be above 0, got '%s'", optarg);
            break;
        case OPT_MOMENTUM:
            ok = cli_parse_double("train", "--momentum", optarg, 0, 0.999, &t->momentum);
            t->momentum_given = true;
            break;
        case OPT_DECAY: ok = cli_parse_double("train", "--weight-decay", optarg, 0, 1, &t->decay); break;
        case OPT_MPI: t->mpi = true; break;
        case OPT_MPI_TIMEOUT:
            ok = cli_parse_double("train", "--mpi-timeout", optarg, 1, 86400, &t->mpi_timeout);
            t->mpi_timeout_given = true;
            break;
        case OPT_MPI_EXCHANGE:
            if (strcmp(optarg, "allgather") != 0 && strcmp(optarg, "bor") != 0)
                return cli_usage_error(&train_command, "--mpi-exchange expects allgather or bor, got '%s'", optarg);
            t->mpi_bor = strcmp(optarg, "bor") == 0;
            t->mpi_exchange_given = true;
            break;
        }
    }
    if (!ok)
        return EXIT_USAGE;
    if (o != CLI_OPT_END)
        return o == CLI_OPT_HELP ? -1 : EXIT_USAGE;
    if (optind < argc)
        return cli_usage_error(&train_command, "unexpected argument '%s'", argv[optind]);
    if (t->momentum_given && strcmp(t->optimizer, "adam") == 0)
        return cli_usage_error(&train_command, "--momentum is SGD's; Adam takes none (add --optimizer sgd)");
    if ((t->mpi_timeout_given || t->mpi_exchange_given) && !t->mpi)
        return cli_usage_error(&train_command, "--%s is --mpi's (add --mpi)",
                               t->mpi_timeout_given ? "mpi-timeout" : "mpi-exchange");
    return 0;
}

int cmd_train(int argc, char **argv)
{
    /* Defaults: Adam at 1e-3, five epochs, the rate cut tenfold for the last:
     * 91.72% test accuracy on Fashion-MNIST with the built-in net (seed 1). */
    train_opts t = {.optimizer = "adam", .epochs = 5, .batch = 64, .seed = 1, .lr = 1e-3, .momentum = 0.9,
                    .accumulate = 1, .mpi_timeout = 60};
    int prc = parse_train(argc, argv, &t);
    if (prc)
        return prc < 0 ? 0 : prc;
    const int64_t B = t.batch;
    /* --mpi: this process is rank `rank` of `ranks`, training micro-batch
     * `rank` of every batch; rank 0 alone prints and saves. */
    cli_mpi *mpi = NULL;
    if (t.mpi && (prc = cli_mpi_join(t.mpi_timeout, t.mpi_bor, &mpi)))
        return prc;
    const int rank = mpi ? cli_mpi_rank(mpi) : 0, ranks = mpi ? cli_mpi_ranks(mpi) : 1;
    const bool lead = rank == 0;
    const int64_t M = B / ranks; /* this process's samples per batch */
    char who[64] = "train", rank_device[256];
    if (mpi)
        snprintf(who, sizeof who, "train (rank %d of %d)", rank, ranks);
    cly_dataset *train = NULL, *test = NULL;
    cly_graph *g = NULL;
    cly_context *ctx = NULL;
    cly_net *net = NULL;
    cly_replicas *group = NULL; /* --device with several devices: it owns ctx and net */
    float *x = NULL, *scores = NULL;
    int32_t *y = NULL, *pred = NULL;
    int64_t *order = NULL;
    int rc = EXIT_RUNTIME;
    cly_status s;
    if (B % ranks != 0) {
        fprintf(stderr, "clayer: %s: --batch %lld does not split into %d equal micro-batches (one per rank)\n", who,
                t.batch, ranks);
        rc = EXIT_USAGE;
        goto done;
    }
    if (mpi && t.selector && strchr(t.selector, ',')) { /* entry k for the machine's k-th rank */
        const char *p = t.selector;
        size_t entries = 1;
        for (const char *q = p; *q; q++)
            entries += *q == ',';
        for (size_t k = (size_t)cli_mpi_local_rank(mpi) % entries; k > 0; k--)
            p = strchr(p, ',') + 1;
        size_t len = strcspn(p, ",");
        snprintf(rank_device, sizeof rank_device, "%.*s", (int)len, p);
        t.selector = rank_device;
    }
    if ((s = cly_dataset_load_fashion_mnist(t.data_dir, true, &train)) ||
        (s = cly_dataset_load_fashion_mnist(t.data_dir, false, &test))) {
        rc = cli_fail("train", s, NULL);
        goto done;
    }
    if (t.test_limit > 0 && t.test_limit < test->count) /* the first images; the rest stay allocated */
        test->count = t.test_limit;
    if ((rc = cli_load_net("train", t.net_path ? t.net_path : "fashion", B, &g))) /* a file or a built-in name */
        goto done;
    rc = EXIT_RUNTIME;
    const cly_net_options nopt = {.batch = M, .mode = CLY_MODE_TRAINING};
    if (!mpi && t.selector && strchr(t.selector, ',')) {
        if ((s = cly_replicas_create(t.selector, NULL, g, &nopt, &group))) {
            rc = cli_fail("train", s, NULL);
            goto done;
        }
        ctx = cly_replicas_context(group, 0);
        net = cly_replicas_net(group, 0);
    } else if ((s = cly_context_create(t.selector, &ctx))) {
        rc = cli_fail("train", s, NULL);
        goto done;
    } else if ((s = cly_net_create(ctx, g, &nopt, &net))) {
        rc = cli_fail("train", s, ctx);
        goto done;
    }
    const size_t devices = group ? cly_replicas_count(group) : 1;
    if ((s = group ? cly_replicas_init_params(group, CLY_INIT_HE, (uint64_t)t.seed)
                   : cly_net_init_params(net, CLY_INIT_HE, (uint64_t)t.seed)) ||
        (mpi && (s = cly_net_sync_part(net, cli_mpi_transport(mpi))))) {
        rc = cli_fail(who, s, ctx);
        goto done;
    }
    int64_t per_epoch = train->count / B * B;
    if (t.limit > 0 && t.limit < per_epoch)
        per_epoch = (t.limit + B - 1) / B * B;
    const int64_t batches = per_epoch / B;
    if (batches < 1) {
        fprintf(stderr, "clayer train: --batch %lld is more than the %lld training images\n", t.batch,
                (long long)train->count);
        goto done;
    }
    /* Step schedule: the rate drops tenfold for the last epoch (none with
     * one epoch). */
    const bool adam = strcmp(t.optimizer, "adam") == 0, nesterov = !adam && t.momentum > 0;
    /* Counted in updates: one per --accumulate batches. */
    const int64_t lr_step = t.epochs > 1 ? batches / t.accumulate * (t.epochs - 1) : 0;
    cly_train_params tp = {.optimizer = adam ? CLY_OPTIMIZER_ADAM : CLY_OPTIMIZER_SGD,
                           .learning_rate = t.lr, .momentum = adam ? 0 : t.momentum, .nesterov = nesterov,
                           .weight_decay = t.decay, .lr_step = lr_step, .seed = (uint64_t)t.seed,
                           .accumulate = t.accumulate * ranks};
    if ((s = group ? cly_replicas_set_training(group, &tp) : cly_net_set_training(net, &tp))) {
        rc = cli_fail(who, s, ctx);
        goto done;
    }
    const char *input, *output;
    int64_t classes = 0;
    if (!cli_describe(g, &input, &output, &classes) || classes < 1) {
        fprintf(stderr, "clayer train: the net needs an input layer and an output layer\n");
        goto done;
    }
    const int64_t pixels = train->c * train->h * train->w;
    x = malloc((size_t)(M * pixels) * sizeof *x);
    y = malloc((size_t)M * sizeof *y);
    pred = malloc((size_t)M * sizeof *pred);
    scores = malloc((size_t)(M * classes) * sizeof *scores);
    order = malloc((size_t)train->count * sizeof *order);
    if (!x || !y || !pred || !scores || !order) {
        fprintf(stderr, "clayer train: out of host memory\n");
        goto done;
    }
    for (int64_t i = 0; i < train->count; i++)
        order[i] = i;
    const cly_device_info *dev = cly_context_device(ctx);
    /* The banner says only what applies: no drop with one epoch, no
     * momentum for Adam. */
    char schedule[64] = "", opt_text[96];
    if (lr_step > 0)
        snprintf(schedule, sizeof schedule, " (x0.1 in the last epoch)");
    if (adam)
        snprintf(opt_text, sizeof opt_text, "Adam");
    else if (nesterov)
        snprintf(opt_text, sizeof opt_text, "SGD with Nesterov momentum %g", t.momentum);
    else
        snprintf(opt_text, sizeof opt_text, "SGD without momentum");
    char where[512];
    int at = snprintf(where, sizeof where, "%u:%u %s", dev->platform_index, dev->device_index, dev->name);
    for (size_t d = 1; d < devices && at > 0 && (size_t)at < sizeof where; d++) {
        const cly_device_info *o = cly_context_device(cly_replicas_context(group, d));
        at += snprintf(where + at, sizeof where - (size_t)at, "%s %u:%u %s", d + 1 == devices ? " and" : ",",
                       o->platform_index, o->device_index, o->name);
    }
    if (devices > 1 && at > 0 && (size_t)at < sizeof where)
        snprintf(where + at, sizeof where - (size_t)at, " (%zu devices, %lld samples each)", devices,
                 (long long)(B / (int64_t)devices));
    if (mpi && at > 0 && (size_t)at < sizeof where)
        snprintf(where + at, sizeof where - (size_t)at, " (rank 0 of %d MPI ranks, %lld samples each)", ranks,
                 (long long)M);
    if (lead)
        printf("training on %s: %lld images per epoch (%lld steps of %lld), %lld epoch%s, %s, lr %g%s, "
           "weight decay %g\n",
           where, (long long)per_epoch, (long long)batches,
           (long long)B, t.epochs, t.epochs == 1 ? "" : "s", opt_text, t.lr, schedule, t.decay);
    fflush(stdout);
    const bool tty = lead && isatty(fileno(stderr));
    uint64_t rng = (uint64_t)t.seed * 2654435761u + 1;
    double total_time = 0;
    for (long long epoch = 1; epoch <= t.epochs; epoch++) {
        for (int64_t i = train->count - 1; i > 0; i--) { /* Fisher-Yates, seeded */
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            int64_t j = (int64_t)((rng >> 33) % (uint64_t)(i + 1));
            int64_t tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        char label[48];
        snprintf(label, sizeof label, "epoch %lld/%lld", epoch, t.epochs);
        double t0 = now_s(), loss_sum = 0, last_report = -1;
        int64_t right = 0;
        for (int64_t b = 0; b < batches; b++) {
            cli_gather(train, order, b * B + rank * M, M, x, y);
            double loss;
            /* The scores of the training pass (kept through backward) give
             * the running accuracy, as Keras reports it. */
            if (group ? (s = cly_replicas_set_input(group, input, x, B * pixels)) ||
                            (s = cly_replicas_train_batch(group, y, B, &loss)) ||
                            (s = cly_replicas_get_output(group, output, scores, B * classes))
                  : mpi ? (s = cly_net_set_input(net, input, x, M * pixels)) ||
                            (s = cly_net_train_part(net, cli_mpi_transport(mpi), y, M, &loss)) ||
                            (s = cly_net_get_output(net, output, scores, M * classes))
                      : (s = cly_net_set_input(net, input, x, B * pixels)) || (s = cly_net_train_batch(net, y, B, &loss)) ||
                            (s = cly_net_get_output(net, output, scores, B * classes))) {
                if (tty)
                    fputc('\n', stderr);
                rc = cli_fail(who, s, ctx);
                goto done;
            }
            cli_argmax(scores, M, classes, pred);
            for (int64_t i = 0; i < M; i++)
                right += pred[i] == y[i];
            loss_sum += loss;
            double el = now_s() - t0;
            bool last = b + 1 == batches;
            if (lead && (last || (tty ? el - last_report >= 0.1 : t.log_every > 0 && (b + 1) % t.log_every == 0))) {
                char stats[160];
                snprintf(stats, sizeof stats, "loss %.4f, acc %.2f%%, %.0f img/s", loss_sum / (double)(b + 1),
                         100.0 * (double)right / (double)((b + 1) * M), el > 0 ? (double)((b + 1) * B) / el : 0.0);
                cli_progress(stderr, tty, tty ? cli_terminal_columns(fileno(stderr)) : 0, label, b + 1, batches, el,
                             stats);
                last_report = el;
            }
        }
        double train_time = now_s() - t0;
        total_time += train_time;
        /* Evaluation on the first device (its net holds the group's
         * parameters); over MPI each rank takes a contiguous share of the
         * test set and the counts are summed (exact: integers). */
        cly_dataset share = *test;
        int64_t first = test->count * rank / ranks;
        share.count = test->count * (rank + 1) / ranks - first;
        share.images += first * pixels;
        share.labels += first;
        int64_t counts[2] = {cli_evaluate(net, input, output, M / (int64_t)devices, classes, &share, NULL, &s), right};
        if (counts[0] < 0) {
            rc = cli_fail(mpi ? who : "train: evaluating", s, ctx);
            goto done;
        }
        if (mpi && (rc = cli_mpi_sum(mpi, counts, 2, "the test and training accuracy counts")))
            goto done;
        rc = EXIT_RUNTIME;
        const int64_t correct = counts[0];
        right = counts[1];
        if (lead)
            printf("epoch %lld: train loss %.4f, train accuracy %.2f%%, %.1f s (%.0f images/s), test accuracy %.2f%% "
               "(%lld/%lld)\n",
               epoch, loss_sum / (double)batches, 100.0 * (double)right / (double)per_epoch, train_time,
               (double)per_epoch / train_time, 100.0 * (double)correct / (double)test->count, (long long)correct,
               (long long)test->count);
        fflush(stdout);
        if (epoch == t.epochs && lead)
            printf("final test accuracy: %.2f%%, training time %.1f s\n",
                   100.0 * (double)correct / (double)test->count, total_time);
    }
    if (t.save && lead) {
        if ((s = cly_net_save(net, t.save))) {
            rc = cli_fail(mpi ? who : "train: saving", s, ctx);
            goto done;
        }
        printf("saved %s\n", t.save);
    }
    rc = 0;
done:
    free(x);
    free(y);
    free(pred);
    free(scores);
    free(order);
    if (group) {
        cly_replicas_destroy(group);
    } else {
        cly_net_destroy(net);
        cly_context_destroy(ctx);
    }
    cly_graph_destroy(g);
    cly_dataset_destroy(train);
    cly_dataset_destroy(test);
    cli_mpi_leave(mpi, rc);
    return rc;
}
