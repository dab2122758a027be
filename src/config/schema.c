/* The schema: every configuration key of gendec, its type, default, allowed range and a one-line doc.
 * Defaults follow PAPER.md (the paper where it says, else the authors' code). Keys of one section must stay
 * contiguous (the emitter nests by section; a test checks it). */
#include <string.h>

#include "gendec/config.h"

#define BIG 1e15
#define KB(k, d, doc) {k, GD_CFG_BOOL, d, 0, 0, 0, NULL, doc}
#define KI(k, d, lo, hi, doc) {k, GD_CFG_INT, d, lo, hi, 0, NULL, doc}
#define KF(k, d, lo, hi, doc) {k, GD_CFG_FLOAT, d, lo, hi, 0, NULL, doc}
#define KS(k, d, doc) {k, GD_CFG_STRING, d, 0, 0, 0, NULL, doc}
#define KE(k, d, ch, doc) {k, GD_CFG_ENUM, d, 0, 0, 0, ch, doc}
#define KLF(k, d, lo, hi, ml, doc) {k, GD_CFG_FLOATS, d, lo, hi, ml, NULL, doc}
#define KLI(k, d, lo, hi, ml, doc) {k, GD_CFG_INTS, d, lo, hi, ml, NULL, doc}
#define KLS(k, d, ch, ml, doc) {k, GD_CFG_STRINGS, d, 0, 0, ml, ch, doc}

#define NEAT_ACTS "sigmoid|tanh|sin|cos|gauss|identity|abs|relu|square|clamped"
#define TS_SIGNS "left_turn|right_turn|no_left_turn|no_right_turn"

static const gd_config_key schema[] = {
    /* ---- experiment ---- */
    KS("experiment.name", "experiment",
       "results go to results/<name>/; when the file does not set it: the file name without .yaml"),
    KS("experiment.description", "", "free text, copied into the report"),
    KLS("experiment.stages", "[]", "data|train|cnn|eval|sweep|fgm|neat|report", 0,
        "stages gendec run runs, in pipeline order; empty = data, train, eval, report, + cnn for traffic_signs "
        "or an attack, + sweep when a sweep grid is set, + fgm for mnist/fashion_mnist/norb"),
    KI("seed", "1", 0, 1e15,
       "experiment seed: every random stream is keyed by (seed, purpose, item index), never by rank"),
    KE("scale", "full", "quick|full", "quick applies the file's top-level quick: mapping (tests use it)"),

    /* ---- data ---- */
    KE("data.set", "mnist", "mnist|fashion_mnist|norb|multimnist|traffic_signs",
       "dataset (paper section 3.3); fashion_mnist stands in for NORB on machines without it"),
    KS("data.dir", "", "folder holding the set's files; empty = <$GD_DATA_DIR or ./data>/<set folder>"),
    KI("data.n_train", "0", 0, 1e8, "mnist/fashion_mnist/norb: keep the first n training images (0 = all)"),
    KI("data.n_val", "5000", 0, 1e8,
       "mnist/fashion_mnist/norb: validation images taken from the end of the training file"),
    KI("data.n_test", "0", 0, 1e8, "mnist/fashion_mnist/norb: keep the first n test images (0 = all)"),
    KB("data.binarize", "false", "threshold every image at 0.5 when loading (training and test data)"),
    KI("data.multimnist.size", "36", 28, 256, "multiMNIST canvas side in pixels"),
    KI("data.multimnist.shift", "4", 0, 64, "maximum shift of each digit per axis in pixels (CapsNet: 4)"),
    KE("data.multimnist.overlay", "clip", "clip|sum",
       "clip: min(a + b, 1) (paper); sum: a + b unclipped (CapsNet code)"),
    KI("data.multimnist.n_train", "128000", 0, 1e8, "generated training images (paper: 128k)"),
    KI("data.multimnist.n_val", "5000", 0, 1e8, "generated validation images (from MNIST train digits)"),
    KI("data.multimnist.n_test", "10000", 0, 1e8, "generated test images (from MNIST test digits)"),
    KI("data.ts.size", "64", 8, 1024, "traffic-sign image side in pixels (paper: 64)"),
    KI("data.ts.n_train", "12000", 0, 1e8,
       "generated training images of the known signs (not stated in the paper)"),
    KI("data.ts.n_val", "1200", 0, 1e8, "generated validation images of the known signs"),
    KI("data.ts.n_test", "1000", 0, 1e8, "generated test images of the novel signs"),
    KI("data.ts.n_test_seen", "600", 0, 1e8, "generated test images of the known signs"),
    KF("data.ts.rotation_deg", "15", 0, 180, "view transform: rotation uniform in [-r, r] degrees"),
    KF("data.ts.scale_min", "0.8", 0.05, 10, "view transform: per-axis scale, lower bound"),
    KF("data.ts.scale_max", "1.0", 0.05, 10, "view transform: per-axis scale, upper bound (>= scale_min)"),
    KF("data.ts.shear", "0.15", 0, 2, "view transform: shear uniform in [-s, s] (x += s * y)"),
    KF("data.ts.translate", "0.08", 0, 1, "view transform: shift uniform in [-t, t] of the half-width"),
    KF("data.ts.noise", "0", 0, 1, "std of |N(0, s)| background noise outside the sign"),
    KI("data.ts.supersample", "4", 1, 16, "anti-aliasing: supersample x supersample points per pixel"),
    KLS("data.ts.novel", "[no_left_turn]", TS_SIGNS, 1,
        "signs held out of training and used as the test set (paper: no left turn)"),
    KI("data.norb.size", "48", 8, 96, "smallNORB images are area-averaged from 96 to this side (paper: 48)"),
    KI("data.norb.view", "0", 0, 1, "camera of each smallNORB stereo pair"),

    /* ---- model (the c-VAE) ---- */
    KE("model.arch", "mlp", "mlp|conv",
       "mlp: fully connected encoder/decoders (fast); conv: the authors' convolutional stacks"),
    KI("model.n_components", "10", 1, 64, "n: decoder sub-networks = components (MNIST 10, NORB 5, TS 4)"),
    KI("model.k", "4", 1, 4096, "latent numbers per component (MNIST 4, NORB 64, TS 20)"),
    KLI("model.enc_widths", "[512, 256]", 1, 65536, 1, "mlp: hidden widths of the encoder"),
    KLI("model.dec_widths", "[256, 512]", 1, 65536, 1, "mlp: hidden widths of each decoder sub-network"),
    KLI("model.conv.channels", "[16, 32, 64]", 1, 4096, 1,
        "conv: encoder channels (stride 2 each); decoders use them in reverse (MNIST 16-32-64)"),
    KI("model.conv.kernel", "3", 1, 15, "conv: kernel side of the strided (de)convolutions (MNIST 3, NORB 5)"),
    KI("model.conv.dec_start", "4", 1, 64,
       "conv: each decoder starts from a dec_start^2 x last-channel map (MNIST 4, multiMNIST 5, NORB 3)"),
    KI("model.conv.out_kernel", "5", 1, 15, "conv: kernel of the final valid convolution to 1 channel"),
    KE("model.recon", "mse", "mse|bce_logits|mse_sigmoid",
       "reconstruction loss: mse (paper) or sigmoid cross-entropy on summed logits (authors' code) or mse with "
       "each decoder's image through a sigmoid (bounded components)"),
    KE("model.kl", "gated", "gated|mean",
       "KL term: gated by y_i with weight C (paper) or plain mean over components (authors' code)"),
    KF("model.C", "1", 0, 1e6, "weight C of the KL term (Eq. 1)"),
    KE("model.activation", "relu", "relu|elu", "hidden activation (traffic signs: elu)"),

    /* ---- cnn (baseline and attack source) ---- */
    KI("cnn.conv1", "20", 1, 4096, "LeNet: channels of the first 5x5 convolution"),
    KI("cnn.conv2", "50", 1, 4096, "LeNet: channels of the second 5x5 convolution"),
    KI("cnn.fc", "500", 1, 65536, "LeNet: width of the hidden fully connected layer"),
    KI("cnn.epochs", "10", 0, 1e6, "CNN training epochs"),
    KI("cnn.max_steps", "0", 0, 1e12, "stop CNN training after this many steps (0 = by epochs)"),
    KI("cnn.batch", "64", 1, 1e6, "CNN minibatch size (global, over all ranks)"),
    KF("cnn.lr", "0.001", 0, 10, "CNN Adam learning rate"),

    /* ---- train (the c-VAE) ---- */
    KI("train.batch", "32", 1, 1e6, "minibatch size (global, over all ranks; authors: 32)"),
    KI("train.epochs", "200", 0, 1e6, "epochs (authors: MNIST 200, NORB 500)"),
    KI("train.max_steps", "0", 0, 1e12, "stop after this many steps (0 = by epochs)"),
    KF("train.lr", "0.001", 0, 10, "Adam learning rate (paper: 0.001)"),
    KF("train.beta1", "0.9", 0, 0.999999, "Adam beta1"),
    KF("train.beta2", "0.999", 0, 0.99999999, "Adam beta2"),
    KF("train.eps", "1e-8", 0, 1, "Adam epsilon"),
    KI("train.checkpoint_every", "1000", 0, 1e12, "write a checkpoint every n steps (0 = only at the end)"),
    KI("train.log_every", "100", 0, 1e12, "log the losses every n steps (0 = never)"),
    KI("train.threads", "0", 0, 1024, "BLAS threads per rank (0 = leave OpenBLAS's default)"),
    KE("train.comm", "auto", "auto|shm|mpi",
       "gradient and weight exchange (more than one rank): shm = node-shared memory windows (fused reduce + Adam, "
       "no weight gather), mpi = reduce-scatter + allgather, auto = shm when every node has the same number (> 1) "
       "of ranks"),

    /* ---- infer (classification, paper 3.2) ---- */
    KI("infer.steps", "50", 0, 1e6, "Adam steps on (z, y) for Eq. 3 (authors: 50; traffic signs 30)"),
    KF("infer.lr", "0.01", 0, 10, "Adam learning rate of the Eq. 3 solver"),
    KF("infer.y0", "0.5", 0, 1, "initial value of every y_i"),
    KI("infer.restarts", "0", 0, 1e6, "extra random starts of z besides the encoder's (best loss wins)"),
    KF("infer.beta", "5", 0, 1e4, "Sig(v) = sigmoid(beta * v + b): slope"),
    KF("infer.b", "-2", -1e4, 1e4, "Sig(v) = sigmoid(beta * v + b): offset"),
    KF("infer.c", "0.005", 0, 1e6, "weight of the sparsity term c * |y|_1"),
    KF("infer.l", "0.2", 0, 1e6, "noise threshold: best loss > l means the image is rejected as noise"),
    KF("infer.yl", "0.3", 0, 1, "y_i < yl is rounded to 0 (must be < yu)"),
    KF("infer.yu", "0.6", 0, 1, "y_i > yu is rounded to 1; values in between are ambiguous"),
    KE("infer.norm", "l2", "l2|l1", "image term of Eq. 3: squared L2 (paper) or L1 (authors' code)"),
    KE("infer.scale", "mean", "mean|sum", "image terms as per-pixel mean (authors' code, default) or sum"),
    KE("infer.rule", "enumerate", "enumerate|top3",
       "decision: enumerate completions of the ambiguous y_i (paper) or top-3 one-hot (authors' code)"),
    KI("infer.max_ambiguous", "10", 0, 30,
       "at most this many ambiguous y_i are enumerated (2^n completions); more: keep the largest"),
    KI("infer.refine_steps", "50", 0, 1e6, "Adam steps on z alone for each candidate y (Eq. 2)"),
    KB("infer.binarize_input", "false",
       "threshold the input at 0.5 before the generative classifier (authors' evaluation code)"),
    KI("infer.batch", "256", 1, 1e6, "images solved together (one batched solver)"),
    KB("infer.trace", "false", "record y after every step (for Fig. 3)"),
    KE("infer.schedule", "static", "static|dynamic",
       "MPI work split: static slices or a dynamic queue of batches"),

    /* ---- sweep (hyperparameter grid on the validation split) ---- */
    KLF("sweep.beta", "[]", 0, 1e4, 0, "grid of infer.beta (empty = keep infer.beta)"),
    KLF("sweep.b", "[]", -1e4, 1e4, 0, "grid of infer.b (empty = keep infer.b)"),
    KLF("sweep.c", "[]", 0, 1e6, 0, "grid of infer.c (empty = keep infer.c)"),
    KLF("sweep.l", "[]", 0, 1e6, 0, "grid of infer.l (empty = keep infer.l)"),
    KLF("sweep.yl", "[]", 0, 1, 0, "grid of infer.yl (empty = keep infer.yl; points with yl >= yu skipped)"),
    KLF("sweep.yu", "[]", 0, 1, 0, "grid of infer.yu (empty = keep infer.yu)"),
    KI("sweep.n_val", "0", 0, 1e8, "validation images used by the sweep (0 = the whole split)"),
    KE("sweep.metric", "accuracy", "accuracy|balanced",
       "what the best grid point maximises: accuracy, or mean of accuracy and noise rejection"),

    /* ---- attack ---- */
    KLF("attack.fgm.eps", "[0, 0.1, 0.2, 0.3, 0.4]", 0, 1, 1, "FGM step sizes (paper: 0 to 0.4)"),
    KE("attack.fgm.norm", "linf", "linf|l2", "linf: eps * sign(grad) (FGSM); l2: eps * grad / |grad|_2"),
    KI("attack.fgm.pgd_steps", "0", 0, 1e6, "0 = one-step FGM; > 0 = PGD iterations within the eps ball"),
    KF("attack.fgm.pgd_alpha", "0.01", 0, 1, "PGD step size"),
    KB("attack.fgm.random_start", "false", "PGD: start from a uniform point of the eps ball"),
    KI("attack.fgm.n_images", "0", 0, 1e8, "test images attacked (0 = all of data.n_test)"),
    KI("attack.neat.population", "150", 2, 1e6, "genomes per population (neat-python 150; Nguyen et al. 200)"),
    KI("attack.neat.generations", "200", 1, 1e7, "generations per run (Nguyen et al.: about 1000)"),
    KLI("attack.neat.targets", "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]", 0, 63, 1, "target classes, one run each"),
    KLI("attack.neat.seeds", "[1]", 0, 1e15, 1, "independent runs per target (their seeds)"),
    KF("attack.neat.threshold", "0.9", 0, 1, "CNN target confidence above which an image fools it"),
    KI("attack.neat.keep_per_generation", "1", 0, 1e6,
       "fooling images kept per generation of a run: its most confident new genomes (0 = all above threshold)"),
    KI("attack.neat.max_keep", "20", 0, 1e7, "fooling images kept per run at most (0 = no limit)"),
    KLS("attack.neat.activations", "[sigmoid, sin, gauss, identity, tanh, abs]", NEAT_ACTS, 1,
        "CPPN node activations to choose from"),
    KE("attack.neat.activation_default", "sigmoid", NEAT_ACTS, "activation of new nodes"),
    KF("attack.neat.activation_mutate_rate", "0.1", 0, 1, "probability of changing a node's activation"),
    KF("attack.neat.compat_threshold", "3.0", 0, 1e6, "speciation: compatibility distance threshold"),
    KF("attack.neat.compat_disjoint_coeff", "1.0", 0, 1e6, "speciation: disjoint/excess gene coefficient"),
    KF("attack.neat.compat_weight_coeff", "0.5", 0, 1e6, "speciation: weight difference coefficient"),
    KF("attack.neat.conn_add_prob", "0.5", 0, 1, "probability of adding a connection"),
    KF("attack.neat.conn_delete_prob", "0.5", 0, 1, "probability of deleting a connection"),
    KF("attack.neat.node_add_prob", "0.2", 0, 1, "probability of adding a node"),
    KF("attack.neat.node_delete_prob", "0.2", 0, 1, "probability of deleting a node"),
    KF("attack.neat.weight_init_stdev", "1.0", 0, 1e3, "std of new connection weights"),
    KF("attack.neat.weight_mutate_rate", "0.8", 0, 1, "probability of perturbing a weight"),
    KF("attack.neat.weight_mutate_power", "0.5", 0, 1e3, "std of a weight perturbation"),
    KF("attack.neat.weight_replace_rate", "0.1", 0, 1, "probability of replacing a weight"),
    KF("attack.neat.weight_min", "-30", -1e6, 1e6, "weights are clamped to [weight_min, weight_max]"),
    KF("attack.neat.weight_max", "30", -1e6, 1e6, "upper weight clamp (> weight_min)"),
    KF("attack.neat.bias_mutate_rate", "0.7", 0, 1, "probability of perturbing a bias"),
    KF("attack.neat.bias_mutate_power", "0.5", 0, 1e3, "std of a bias perturbation"),
    KF("attack.neat.bias_replace_rate", "0.1", 0, 1, "probability of replacing a bias"),
    KF("attack.neat.enabled_mutate_rate", "0.01", 0, 1, "probability of toggling a connection"),
    KI("attack.neat.elitism", "2", 0, 1e6, "best genomes of each species copied unchanged"),
    KF("attack.neat.survival_threshold", "0.2", 0, 1, "fraction of each species allowed to reproduce"),
    KI("attack.neat.max_stagnation", "15", 1, 1e6, "generations without improvement before a species is removed"),
    KI("attack.neat.species_elitism", "2", 0, 1e6, "species protected from stagnation"),
    KI("attack.neat.n_noise_test", "0", 0, 1e8,
       "extra uniform-noise images classified with the fooling images (0 = none)"),

    /* ---- slurm (gendec submit) ---- */
    KS("slurm.partition", "", "partition (empty = the cluster's default)"),
    KS("slurm.account", "", "account to charge (empty = default)"),
    KI("slurm.nodes", "1", 1, 1e5, "nodes of the training and evaluation jobs"),
    KI("slurm.tasks", "2", 1, 1e7, "MPI tasks of the training and evaluation jobs"),
    KI("slurm.cpus_per_task", "1", 1, 1024, "cores per MPI task (BLAS threads)"),
    KS("slurm.time", "01:00:00", "time limit per job (Slurm syntax, e.g. 02:00:00 or 1-00:00:00)"),
    KS("slurm.mem", "", "memory per node (Slurm syntax, e.g. 8G; empty = default)"),
    KI("slurm.array_parallel", "4", 0, 1e6, "array tasks running at once (%N; 0 = no limit)"),
    KI("slurm.signal_seconds", "120", 0, 86400,
       "send SIGUSR1 this many seconds before the time limit so the job checkpoints (0 = none)"),
    KB("slurm.requeue", "true", "requeue a preempted or timed-out job; it resumes from its checkpoint"),
    KE("slurm.launcher", "srun", "srun|mpiexec", "how job scripts start MPI steps"),
    KLS("slurm.extra_args", "[]", NULL, 0, "extra sbatch options, one per item (e.g. --qos=short)"),

    /* ---- report ---- */
    KLS("report.formats", "[md, tex]", "md|tex", 0, "table formats written by gendec report"),
    KB("report.figures", "true", "draw the figures (PNG)"),
    KB("report.paper_numbers", "true", "show the paper's figure beside ours in every cell"),
    KI("report.n_examples", "16", 0, 10000, "example images per figure"),
};

const gd_config_key* gd_config_schema(size_t* n) {
    *n = sizeof schema / sizeof schema[0];
    return schema;
}

const gd_config_key* gd_config_lookup(const char* key) {
    if (!key) return NULL;
    for (size_t i = 0; i < sizeof schema / sizeof schema[0]; i++)
        if (!strcmp(schema[i].key, key)) return &schema[i];
    return NULL;
}
