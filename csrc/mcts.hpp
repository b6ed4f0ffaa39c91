// The two hot kernels of the batched MCTS (selfplay/mcts/search.py): walk every tree from its
// root to a leaf, and back the leaves' values up. They follow selfplay/mcts/numba_backend.py
// (and the pure-Python spec, reference.py) operation for operation, in double precision, so
// that every backend gives the same visit counts; mcts.cpp is compiled with
// -ffp-contract=off for that reason.
//
// Pure C++17 with no Python headers; bindings.cpp exposes both to Python as selfplay._core.
#pragma once

#include <cstdint>

namespace selfplay::mcts {

// Same numbers as numba_backend.PUCT and numba_backend.GUMBEL.
enum Algorithm : int { kPuct = 0, kGumbel = 1 };

// B trees of N nodes of capacity over A actions, as C-contiguous arrays; the layout and the
// meaning of each field are those of selfplay/mcts/tree.py. Node 0 is a tree's root.
struct Trees {
  std::int64_t batch = 0;     // B
  std::int64_t capacity = 0;  // N
  std::int64_t actions = 0;   // A
  std::int32_t* children = nullptr;      // [B, N, A] child per action, -1 where not expanded
  double* prior = nullptr;               // [B, N, A]
  const double* root_prior = nullptr;    // [B, A] the root's prior with noise (PUCT)
  bool* legal = nullptr;                 // [B, N, A]
  std::int32_t* parent = nullptr;        // [B, N], -1 at the root
  std::int32_t* action_in = nullptr;     // [B, N]
  std::int8_t* player_in = nullptr;      // [B, N] whose view value_sum takes
  std::int8_t* to_play = nullptr;        // [B, N], -1 at terminal nodes
  bool* terminal = nullptr;              // [B, N]
  bool* evaluated = nullptr;             // [B, N]
  std::int32_t* visits = nullptr;        // [B, N]
  std::int32_t* in_flight = nullptr;     // [B, N] tree.py's `virtual`: walks not yet backed up
  double* value_sum = nullptr;           // [B, N]
  double* leaf_value = nullptr;          // [B, N] player 0's view
  std::int32_t* num_nodes = nullptr;     // [B] nodes in use
};

// The search's knobs, as in selfplay.mcts.SearchConfig.
struct SelectParams {
  int algorithm = kPuct;
  int num_players = 2;
  double c_init = 1.25;
  double c_base = 19652.0;
  double fpu_reduction = 0.0;
  double virtual_loss = 1.0;
  double c_visit = 50.0;
  double c_scale = 0.1;
};

// Walks every tree `num_leaves` times from the root to a leaf: a new node (allocated here, for
// the caller to evaluate), a node still waiting for its evaluation, or a terminal node. Each
// walk adds one in-flight visit (a virtual loss) to every node on its path. Writes walk k of
// tree b to out_leaf[b * out_stride + k] and whether its leaf is new to out_new (same index).
//
// gumbel: [B, A] root noise (Gumbel). schedule: [B, schedule_stride] (Gumbel only; entry
// sim_index + k is the root visit count an action needs to be chosen by walk k).
//
// Preconditions, checked by the caller: num_leaves <= out_stride; for Gumbel,
// sim_index + num_leaves <= schedule_stride; the trees hold valid node indices.
// Throws std::runtime_error when a tree is full (a new node would be node N or beyond) or an
// evaluated node has no action to choose; the trees are then left part-way through the call.
void select_leaves(const Trees& trees, const double* gumbel, const std::int32_t* schedule,
                   std::int64_t schedule_stride, std::int64_t sim_index, std::int64_t num_leaves,
                   const SelectParams& params, std::int32_t* out_leaf, bool* out_new,
                   std::int64_t out_stride);

// Adds each walk's leaf value to every node on its path (from the view of each node's
// player_in) and lifts the walk's in-flight visit. The [B, N] arrays are those of Trees;
// leaves: [B, leaves_stride], the first num_leaves of each row read. Throws
// std::invalid_argument, before changing anything, when a leaf is not a node index in [0, N).
void backup(std::int64_t batch, std::int64_t capacity, const std::int32_t* parent,
            const std::int8_t* player_in, std::int32_t* visits, std::int32_t* in_flight,
            double* value_sum, const double* leaf_value, const std::int32_t* leaves,
            std::int64_t leaves_stride, std::int64_t num_leaves, int num_players);

}  // namespace selfplay::mcts
