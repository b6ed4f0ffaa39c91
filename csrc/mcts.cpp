#include "mcts.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

// Every expression below mirrors one in numba_backend.py, in the same order: integer sums stay
// integers until they meet a double, and argmaxes keep the first best index (strict `>`).

namespace selfplay::mcts {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// One tree's rows of the [B, ...] arrays, so that the kernels index by node only.
struct Tree {
  std::int64_t a_size;
  std::int32_t* children;
  double* prior;
  const double* root_prior;
  bool* legal;
  std::int32_t* parent;
  std::int32_t* action_in;
  std::int8_t* player_in;
  std::int8_t* to_play;
  bool* terminal;
  bool* evaluated;
  std::int32_t* visits;
  std::int32_t* in_flight;
  double* value_sum;
  double* leaf_value;

  Tree(const Trees& t, std::int64_t b)
      : a_size(t.actions),
        children(t.children + b * t.capacity * t.actions),
        prior(t.prior + b * t.capacity * t.actions),
        root_prior(t.root_prior + b * t.actions),
        legal(t.legal + b * t.capacity * t.actions),
        parent(t.parent + b * t.capacity),
        action_in(t.action_in + b * t.capacity),
        player_in(t.player_in + b * t.capacity),
        to_play(t.to_play + b * t.capacity),
        terminal(t.terminal + b * t.capacity),
        evaluated(t.evaluated + b * t.capacity),
        visits(t.visits + b * t.capacity),
        in_flight(t.in_flight + b * t.capacity),
        value_sum(t.value_sum + b * t.capacity),
        leaf_value(t.leaf_value + b * t.capacity) {}

  // Mean value of node n from its player_in's view, in-flight walks counted as losses.
  double q(std::int32_t n, double virtual_loss) const {
    const double w = value_sum[n] - in_flight[n] * virtual_loss;
    return w / (visits[n] + in_flight[n]);
  }
};

inline double signed_value(double value, int player, int num_players) {
  return num_players == 2 && player == 1 ? -value : value;
}

// PUCT's exploration factors c(n) = c_init + log((n + c_base + 1) / c_base) and sqrt(n) of a
// parent visited n times (in-flight walks included), computed once per call for counts below
// kCached: the log is the dearest operation of a PUCT step, and the same counts recur in every
// tree. Larger counts (reused roots) are rare and computed each time.
class PuctFactors {
 public:
  static constexpr std::int32_t kCached = 1 << 14;

  explicit PuctFactors(const SelectParams& p) : c_init_(p.c_init), c_base_(p.c_base) {}

  // c(n) and sqrt(n), exactly as numba_backend._select_puct computes them.
  void get(std::int32_t n, double& c, double& sqrt_n) {
    if (n < 0 || n >= kCached) {
      compute(n, c, sqrt_n);
      return;
    }
    const auto i = static_cast<std::size_t>(n);
    if (i >= known_.size()) {
      const std::size_t size = std::max<std::size_t>(i + 1, 2 * known_.size());
      known_.resize(size, 0);
      c_.resize(size);
      sqrt_.resize(size);
    }
    if (!known_[i]) {
      compute(n, c_[i], sqrt_[i]);
      known_[i] = 1;
    }
    c = c_[i];
    sqrt_n = sqrt_[i];
  }

 private:
  void compute(std::int32_t n, double& c, double& sqrt_n) const {
    c = c_init_ + std::log((n + c_base_ + 1.0) / c_base_);
    sqrt_n = std::sqrt(static_cast<double>(n));
  }

  double c_init_, c_base_;
  std::vector<std::uint8_t> known_;
  std::vector<double> c_, sqrt_;
};

// PUCT with first-play urgency; `n_child` is scratch of A ints.
int select_puct(const Tree& t, std::int32_t node, const double* prior_row,
                const SelectParams& p, PuctFactors& factors, std::int32_t* n_child) {
  const std::int64_t a_size = t.a_size;
  const std::int32_t* children = t.children + node * a_size;
  const bool* legal = t.legal + node * a_size;
  double c, sqrt_n;
  factors.get(t.visits[node] + t.in_flight[node], c, sqrt_n);
  double visited_mass = 0.0;
  for (std::int64_t a = 0; a < a_size; ++a) {
    const std::int32_t child = children[a];
    const std::int32_t n = child < 0 ? 0 : t.visits[child] + t.in_flight[child];
    n_child[a] = n;
    if (n > 0) visited_mass += prior_row[a];
  }
  double own = t.q(node, p.virtual_loss);
  if (p.num_players == 2 && t.to_play[node] != t.player_in[node]) own = -own;
  // With no reduction own - 0 * sqrt(mass) is own exactly (the mass is finite): skip the sqrt.
  const double fpu =
      p.fpu_reduction == 0.0 ? own : own - p.fpu_reduction * std::sqrt(visited_mass);
  double best = -kInf;
  int best_a = -1;
  for (std::int64_t a = 0; a < a_size; ++a) {
    if (!legal[a]) continue;
    const std::int32_t n = n_child[a];
    const double q = n > 0 ? t.q(children[a], p.virtual_loss) : fpu;
    const double score = q + c * prior_row[a] * sqrt_n / (1.0 + n);
    if (score > best) {
      best = score;
      best_a = static_cast<int>(a);
    }
  }
  return best_a;
}

// sigma(completed, rescaled Q) of every action into `sigma` (Gumbel AlphaZero, eq. 8 and 10);
// the children's visits into `counts` (A ints); returns their sum. Each visited child's Q is
// computed once and kept in `sigma` until the completed values are filled in.
std::int32_t completed_sigma(const Tree& t, std::int32_t node, double* sigma,
                             std::int32_t* counts, const SelectParams& p) {
  const std::int64_t a_size = t.a_size;
  const std::int32_t* children = t.children + node * a_size;
  const double* prior = t.prior + node * a_size;
  const bool* legal = t.legal + node * a_size;
  std::int32_t sum_n = 0, max_n = 0;
  double weighted = 0.0, mass = 0.0;
  for (std::int64_t a = 0; a < a_size; ++a) {
    const std::int32_t child = children[a];
    const std::int32_t n = child >= 0 ? t.visits[child] : 0;
    counts[a] = n;
    sum_n += n;
    max_n = std::max(max_n, n);
    if (n > 0) {
      sigma[a] = t.q(child, p.virtual_loss);
      weighted += prior[a] * sigma[a];
      mass += prior[a];
    }
  }
  const double v_net = signed_value(t.leaf_value[node], t.to_play[node], p.num_players);
  const double v_mix = sum_n > 0 ? (v_net + sum_n * (weighted / mass)) / (1.0 + sum_n) : v_net;
  double lo = kInf, hi = -kInf;
  for (std::int64_t a = 0; a < a_size; ++a) {
    if (legal[a]) {
      if (counts[a] == 0) sigma[a] = v_mix;
      lo = sigma[a] < lo ? sigma[a] : lo;  // Python's min(lo, x) and max(hi, x)
      hi = sigma[a] > hi ? sigma[a] : hi;
    }
  }
  const double scale = (p.c_visit + max_n) * p.c_scale;
  const double span = std::max(hi - lo, 1e-8);
  for (std::int64_t a = 0; a < a_size; ++a) {
    sigma[a] = legal[a] ? scale * ((sigma[a] - lo) / span) : 0.0;
  }
  return sum_n;
}

// softmax(log prior + sigma) into `out`, the children's visits into `counts`; returns their sum.
std::int32_t improved_policy(const Tree& t, std::int32_t node, double* out, std::int32_t* counts,
                             const SelectParams& p) {
  const std::int32_t sum_n = completed_sigma(t, node, out, counts, p);
  const std::int64_t a_size = t.a_size;
  const double* prior = t.prior + node * a_size;
  const bool* legal = t.legal + node * a_size;
  double top = -kInf;
  for (std::int64_t a = 0; a < a_size; ++a) {
    if (legal[a] && prior[a] > 0) {
      out[a] = std::log(prior[a]) + out[a];
      top = out[a] > top ? out[a] : top;
    } else {
      out[a] = -kInf;
    }
  }
  double total = 0.0;
  for (std::int64_t a = 0; a < a_size; ++a) {
    out[a] = out[a] > -kInf ? std::exp(out[a] - top) : 0.0;
    total += out[a];
  }
  for (std::int64_t a = 0; a < a_size; ++a) out[a] = out[a] / total;
  return sum_n;
}

// Gumbel interior choice: the improved policy minus the visit share, deterministically.
int select_gumbel_interior(const Tree& t, std::int32_t node, double* scratch,
                           std::int32_t* counts, const SelectParams& p) {
  const std::int32_t sum_n = improved_policy(t, node, scratch, counts, p);
  const bool* legal = t.legal + node * t.a_size;
  double best = -kInf;
  int best_a = -1;
  for (std::int64_t a = 0; a < t.a_size; ++a) {
    if (!legal[a]) continue;
    const double score = scratch[a] - counts[a] / (1.0 + sum_n);
    if (score > best) {
      best = score;
      best_a = static_cast<int>(a);
    }
  }
  return best_a;
}

// Gumbel root choice: among actions with `considered_visit` visits, argmax g + logits + sigma.
int select_gumbel_root(const Tree& t, const double* gumbel_row, std::int32_t considered_visit,
                       double* sigma, std::int32_t* counts, const SelectParams& p) {
  completed_sigma(t, 0, sigma, counts, p);
  double best = -kInf;
  int best_a = -1;
  for (std::int64_t a = 0; a < t.a_size; ++a) {
    if (t.legal[a] && t.prior[a] > 0 && counts[a] == considered_visit) {
      const double score = gumbel_row[a] + std::log(t.prior[a]) + sigma[a];
      if (score > best) {
        best = score;
        best_a = static_cast<int>(a);
      }
    }
  }
  return best_a;
}

// Allocates the next node of tree `b` as child `a` of `node` and returns it.
std::int32_t add_child(const Tree& t, std::int32_t* num_nodes, std::int64_t b,
                       std::int64_t capacity, std::int32_t node, int a) {
  const std::int32_t child = *num_nodes;
  if (child < 0 || child >= capacity) {
    throw std::runtime_error("select_leaves: tree " + std::to_string(b) + " is full (" +
                             std::to_string(capacity) + " nodes); grow the tree first");
  }
  *num_nodes = child + 1;
  const std::int64_t a_size = t.a_size;
  std::fill_n(t.children + child * a_size, a_size, -1);
  std::fill_n(t.legal + child * a_size, a_size, false);
  std::fill_n(t.prior + child * a_size, a_size, 0.0);
  t.parent[child] = node;
  t.action_in[child] = a;
  t.player_in[child] = t.to_play[node];
  t.to_play[child] = -1;
  t.terminal[child] = false;
  t.evaluated[child] = false;
  t.visits[child] = 0;
  t.in_flight[child] = 0;
  t.value_sum[child] = 0.0;
  t.leaf_value[child] = 0.0;
  t.children[node * a_size + a] = child;
  return child;
}

[[noreturn]] void no_action(std::int64_t b, std::int32_t node) {
  throw std::runtime_error("select_leaves: node " + std::to_string(node) + " of tree " +
                           std::to_string(b) +
                           " is evaluated and not terminal but has no action to choose");
}

}  // namespace

void select_leaves(const Trees& trees, const double* gumbel, const std::int32_t* schedule,
                   std::int64_t schedule_stride, std::int64_t sim_index, std::int64_t num_leaves,
                   const SelectParams& params, std::int32_t* out_leaf, bool* out_new,
                   std::int64_t out_stride) {
  const std::int64_t a_size = trees.actions;
  std::vector<double> scratch(static_cast<std::size_t>(a_size));
  std::vector<std::int32_t> counts(static_cast<std::size_t>(a_size));
  PuctFactors factors(params);
  const bool gumbel_search = params.algorithm == kGumbel;
  for (std::int64_t b = 0; b < trees.batch; ++b) {
    const Tree t(trees, b);
    for (std::int64_t k = 0; k < num_leaves; ++k) {
      std::int32_t node = 0;
      bool is_new = false;
      while (t.evaluated[node] && !t.terminal[node]) {
        int a;
        if (gumbel_search) {
          a = node == 0 ? select_gumbel_root(t, gumbel + b * a_size,
                                             schedule[b * schedule_stride + sim_index + k],
                                             scratch.data(), counts.data(), params)
                        : select_gumbel_interior(t, node, scratch.data(), counts.data(), params);
        } else {
          const double* prior_row = node == 0 ? t.root_prior : t.prior + node * a_size;
          a = select_puct(t, node, prior_row, params, factors, counts.data());
        }
        if (a < 0) no_action(b, node);
        const std::int32_t child = t.children[node * a_size + a];
        if (child < 0) {
          node = add_child(t, trees.num_nodes + b, b, trees.capacity, node, a);
          is_new = true;
          break;
        }
        node = child;
      }
      out_leaf[b * out_stride + k] = node;
      out_new[b * out_stride + k] = is_new;
      for (std::int32_t n = node; n >= 0; n = t.parent[n]) t.in_flight[n] += 1;
    }
  }
}

void backup(std::int64_t batch, std::int64_t capacity, const std::int32_t* parent,
            const std::int8_t* player_in, std::int32_t* visits, std::int32_t* in_flight,
            double* value_sum, const double* leaf_value, const std::int32_t* leaves,
            std::int64_t leaves_stride, std::int64_t num_leaves, int num_players) {
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t k = 0; k < num_leaves; ++k) {
      const std::int32_t leaf = leaves[b * leaves_stride + k];
      if (leaf < 0 || leaf >= capacity) {
        throw std::invalid_argument("backup: leaves[" + std::to_string(b) + ", " +
                                    std::to_string(k) + "] = " + std::to_string(leaf) +
                                    " is not a node index in [0, " + std::to_string(capacity) +
                                    ")");
      }
    }
  }
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t row = b * capacity;  // tree b's rows of the [B, N] arrays
    for (std::int64_t k = 0; k < num_leaves; ++k) {
      const std::int32_t leaf = leaves[b * leaves_stride + k];
      const double value = leaf_value[row + leaf];
      for (std::int64_t n = leaf; n >= 0; n = parent[row + n]) {
        in_flight[row + n] -= 1;
        visits[row + n] += 1;
        value_sum[row + n] += signed_value(value, player_in[row + n], num_players);
      }
    }
  }
}

}  // namespace selfplay::mcts
