# The tiny traffic-sign experiment of the shell tests and scripts/memcheck.sh (sourced): 16 x 16 generated signs,
# an MLP c-VAE, a few Adam steps; it trains in about a second on one rank.
# ts_tiny_yaml FILE [KEY=VALUE...]: writes it to FILE. Keys (default): name (ts_tiny), seed (5), n_train (96),
# n_val (12), n_test (12), n_test_seen (12), max_steps (40), checkpoint_every (0), log_every (10), and more: YAML
# lines appended as they are (e.g. an infer or cnn section).
ts_tiny_yaml() {
  local file=$1 name=ts_tiny seed=5 n_train=96 n_val=12 n_test=12 n_test_seen=12 max_steps=40 checkpoint_every=0 \
    log_every=10 more="" kv
  shift
  for kv in "$@"; do
    case ${kv%%=*} in
      name | seed | n_train | n_val | n_test | n_test_seen | max_steps | checkpoint_every | log_every | more)
        local "${kv%%=*}=${kv#*=}" ;;
      *) echo "ts_tiny_yaml: unknown key in '$kv'" >&2; return 2 ;;
    esac
  done
  {
    echo "experiment: {name: $name}"
    echo "seed: $seed"
    echo "data:"
    echo "  set: traffic_signs"
    echo "  ts: {size: 16, n_train: $n_train, n_val: $n_val, n_test: $n_test, n_test_seen: $n_test_seen, supersample: 1}"
    echo "model: {arch: mlp, n_components: 4, k: 3, enc_widths: [32], dec_widths: [24], activation: elu}"
    echo "train: {batch: 16, epochs: 0, max_steps: $max_steps, lr: 0.003, checkpoint_every: $checkpoint_every, log_every: $log_every}"
    [ -z "$more" ] || echo "$more"
  } >"$file"
}
