// Python bindings of the compiled core, exposed as the private module selfplay._core.
// This is the only translation unit that includes nanobind; the algorithms live in plain C++.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/array.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "connect4_solver.hpp"
#include "mcts.hpp"

namespace nb = nanobind;
using selfplay::connect4::Position;
using selfplay::connect4::Solver;

namespace {

// The tree kernels write into the caller's arrays, so they take them as they are: C-contiguous
// with the exact dtype, never a converted copy (every array argument is noconvert()).
template <typename T>
using Array = nb::ndarray<T, nb::c_contig, nb::device::cpu>;

// Throws ValueError unless `array` has the `expected` shape, spelled `dims` (e.g. "[B, N, A]").
template <typename T>
void check_shape(const char* function, const char* name, const Array<T>& array,
                 std::initializer_list<std::int64_t> expected, const char* dims) {
  bool ok = array.ndim() == expected.size();
  for (std::size_t i = 0; ok && i < expected.size(); ++i) {
    ok = static_cast<std::int64_t>(array.shape(i)) == expected.begin()[i];
  }
  if (ok) return;
  auto spell = [](auto&& sizes) {
    std::string out = "[";
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      out += (i ? ", " : "") + std::to_string(sizes[i]);
    }
    return out + "]";
  };
  std::vector<std::int64_t> got;
  for (std::size_t i = 0; i < array.ndim(); ++i) got.push_back(array.shape(i));
  throw std::invalid_argument(std::string(function) + ": " + name + " must have shape " + dims +
                              " = " + spell(std::vector<std::int64_t>(expected)) + ", got " +
                              spell(got));
}

// Throws ValueError unless `array` has as many dimensions as `dims` names (e.g. "[B, K]").
template <typename T>
void check_ndim(const char* function, const char* name, const Array<T>& array, std::size_t ndim,
                const char* dims) {
  if (array.ndim() != ndim) {
    throw std::invalid_argument(std::string(function) + ": " + name + " must have shape " + dims +
                                ", got " + std::to_string(array.ndim()) + " dimensions");
  }
}

void check_range(const char* function, const char* name, std::int64_t value, std::int64_t lo,
                 std::int64_t hi) {
  if (value < lo || value > hi) {
    throw std::invalid_argument(std::string(function) + ": " + name + " = " +
                                std::to_string(value) + " is outside [" + std::to_string(lo) +
                                ", " + std::to_string(hi) + "]");
  }
}

void bind_mcts(nb::module_& m) {
  namespace mcts = selfplay::mcts;
  m.def(
      "select_leaves",
      [](Array<std::int32_t> children, Array<double> prior, Array<const double> root_prior,
         Array<bool> legal, Array<std::int32_t> parent, Array<std::int32_t> action_in,
         Array<std::int8_t> player_in, Array<std::int8_t> to_play, Array<bool> terminal,
         Array<bool> evaluated, Array<std::int32_t> visits, Array<std::int32_t> virtual_,
         Array<double> value_sum, Array<double> leaf_value, Array<std::int32_t> num_nodes,
         Array<const double> gumbel, Array<const std::int32_t> schedule, std::int64_t sim_index,
         std::int64_t num_leaves, int algorithm, int num_players, double c_init, double c_base,
         double fpu_reduction, double virtual_loss, double c_visit, double c_scale,
         Array<std::int32_t> out_leaf, Array<bool> out_new) {
        constexpr const char* f = "select_leaves";
        check_ndim(f, "children", children, 3, "[B, N, A]");
        const std::int64_t b = children.shape(0), n = children.shape(1), a = children.shape(2);
        check_shape(f, "prior", prior, {b, n, a}, "[B, N, A]");
        check_shape(f, "root_prior", root_prior, {b, a}, "[B, A]");
        check_shape(f, "legal", legal, {b, n, a}, "[B, N, A]");
        check_shape(f, "parent", parent, {b, n}, "[B, N]");
        check_shape(f, "action_in", action_in, {b, n}, "[B, N]");
        check_shape(f, "player_in", player_in, {b, n}, "[B, N]");
        check_shape(f, "to_play", to_play, {b, n}, "[B, N]");
        check_shape(f, "terminal", terminal, {b, n}, "[B, N]");
        check_shape(f, "evaluated", evaluated, {b, n}, "[B, N]");
        check_shape(f, "visits", visits, {b, n}, "[B, N]");
        check_shape(f, "virtual", virtual_, {b, n}, "[B, N]");
        check_shape(f, "value_sum", value_sum, {b, n}, "[B, N]");
        check_shape(f, "leaf_value", leaf_value, {b, n}, "[B, N]");
        check_shape(f, "num_nodes", num_nodes, {b}, "[B]");
        check_shape(f, "gumbel", gumbel, {b, a}, "[B, A]");
        check_ndim(f, "out_leaf", out_leaf, 2, "[B, K]");
        const std::int64_t k = out_leaf.shape(1);
        check_shape(f, "out_leaf", out_leaf, {b, k}, "[B, K]");
        check_shape(f, "out_new", out_new, {b, k}, "[B, K]");
        check_range(f, "algorithm", algorithm, mcts::kPuct, mcts::kGumbel);
        check_range(f, "num_players", num_players, 1, 127);
        check_range(f, "num_leaves", num_leaves, 0, k);
        if (n < 1) throw std::invalid_argument(std::string(f) + ": the trees have no room (N = 0)");
        std::int64_t s = 0;
        if (algorithm == mcts::kGumbel) {
          s = schedule.ndim() == 2 ? static_cast<std::int64_t>(schedule.shape(1)) : 0;
          check_shape(f, "schedule", schedule, {b, s}, "[B, S]");
          check_range(f, "sim_index", sim_index, 0, s - num_leaves);
        }
        const mcts::Trees trees{b, n, a, children.data(), prior.data(), root_prior.data(),
                                legal.data(), parent.data(), action_in.data(), player_in.data(),
                                to_play.data(), terminal.data(), evaluated.data(), visits.data(),
                                virtual_.data(), value_sum.data(), leaf_value.data(),
                                num_nodes.data()};
        const mcts::SelectParams params{algorithm, num_players, c_init,  c_base,
                                        fpu_reduction, virtual_loss, c_visit, c_scale};
        nb::gil_scoped_release release;
        mcts::select_leaves(trees, gumbel.data(), schedule.data(), s, sim_index, num_leaves,
                            params, out_leaf.data(), out_new.data(), k);
      },
      nb::arg("children").noconvert(), nb::arg("prior").noconvert(),
      nb::arg("root_prior").noconvert(), nb::arg("legal").noconvert(),
      nb::arg("parent").noconvert(), nb::arg("action_in").noconvert(),
      nb::arg("player_in").noconvert(), nb::arg("to_play").noconvert(),
      nb::arg("terminal").noconvert(), nb::arg("evaluated").noconvert(),
      nb::arg("visits").noconvert(), nb::arg("virtual").noconvert(),
      nb::arg("value_sum").noconvert(), nb::arg("leaf_value").noconvert(),
      nb::arg("num_nodes").noconvert(), nb::arg("gumbel").noconvert(),
      nb::arg("schedule").noconvert(), nb::arg("sim_index"), nb::arg("num_leaves"),
      nb::arg("algorithm"), nb::arg("num_players"), nb::arg("c_init"), nb::arg("c_base"),
      nb::arg("fpu_reduction"), nb::arg("virtual_loss"), nb::arg("c_visit"), nb::arg("c_scale"),
      nb::arg("out_leaf").noconvert(), nb::arg("out_new").noconvert(),
      "Walks every tree num_leaves times from its root to a leaf, allocating new leaves and\n"
      "adding a virtual loss along each path; writes the leaves to out_leaf [B, K] and whether\n"
      "each is new to out_new. Mutates the trees in place (the Numba kernel's twin).");

  m.def(
      "backup",
      [](Array<const std::int32_t> parent, Array<const std::int8_t> player_in,
         Array<std::int32_t> visits, Array<std::int32_t> virtual_, Array<double> value_sum,
         Array<const double> leaf_value, Array<const std::int32_t> leaves,
         std::int64_t num_leaves, int num_players) {
        constexpr const char* f = "backup";
        check_ndim(f, "parent", parent, 2, "[B, N]");
        check_ndim(f, "leaves", leaves, 2, "[B, K]");
        const std::int64_t b = parent.shape(0), n = parent.shape(1), k = leaves.shape(1);
        check_shape(f, "player_in", player_in, {b, n}, "[B, N]");
        check_shape(f, "visits", visits, {b, n}, "[B, N]");
        check_shape(f, "virtual", virtual_, {b, n}, "[B, N]");
        check_shape(f, "value_sum", value_sum, {b, n}, "[B, N]");
        check_shape(f, "leaf_value", leaf_value, {b, n}, "[B, N]");
        check_shape(f, "leaves", leaves, {b, k}, "[B, K]");
        check_range(f, "num_leaves", num_leaves, 0, k);
        check_range(f, "num_players", num_players, 1, 127);
        nb::gil_scoped_release release;
        mcts::backup(b, n, parent.data(), player_in.data(), visits.data(), virtual_.data(),
                     value_sum.data(), leaf_value.data(), leaves.data(), k, num_leaves,
                     num_players);
      },
      nb::arg("parent").noconvert(), nb::arg("player_in").noconvert(),
      nb::arg("visits").noconvert(), nb::arg("virtual").noconvert(),
      nb::arg("value_sum").noconvert(), nb::arg("leaf_value").noconvert(),
      nb::arg("leaves").noconvert(), nb::arg("num_leaves"), nb::arg("num_players"),
      "Adds each walk's leaf value to every node on its path and lifts its virtual loss.\n"
      "Mutates visits, virtual and value_sum in place (the Numba kernel's twin).");
}

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "Compiled core of selfplay (private: use selfplay.solver and selfplay.mcts).";
  m.attr("CONNECT4_WIDTH") = selfplay::connect4::kWidth;
  m.attr("CONNECT4_HEIGHT") = selfplay::connect4::kHeight;

  nb::class_<Solver>(m, "Connect4Solver",
                     "Exact Connect Four solver with a transposition table kept between calls.")
      .def(nb::init<int>(), nb::arg("log2_table_size") = Solver::kDefaultLog2TableSize,
           "Allocates a table of 2**log2_table_size entries of 8 bytes (10 <= log2 <= 24).")
      .def(
          "score",
          [](Solver& solver, const std::vector<int>& columns) {
            const Position position = Position::from_moves(columns);  // validates, may throw
            nb::gil_scoped_release release;
            return solver.solve(position);
          },
          nb::arg("columns"),
          "Exact score for the side to move after 0-based `columns` (Pons' scale).")
      .def(
          "analyze",
          [](Solver& solver, const std::vector<int>& columns) {
            const Position position = Position::from_moves(columns);
            nb::gil_scoped_release release;
            return solver.analyze(position);
          },
          nb::arg("columns"),
          "Score of playing each column for the side to move; None for a full column.")
      .def(
          "reset",
          [](Solver& solver) {
            nb::gil_scoped_release release;
            solver.reset();
          },
          "Clears the transposition table.")
      .def_prop_ro("last_node_count", &Solver::last_node_count,
                   "Nodes searched by the most recent score() or analyze() call.")
      .def_prop_ro("table_entries", &Solver::table_entries)
      .def_prop_ro("table_bytes", &Solver::table_bytes);

  bind_mcts(m);
}
