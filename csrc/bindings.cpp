// Python bindings of the compiled core, exposed as the private module selfplay._core.
// This is the only translation unit that includes nanobind; the algorithms live in plain C++.
#include <nanobind/nanobind.h>
#include <nanobind/stl/array.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/vector.h>

#include "connect4_solver.hpp"

namespace nb = nanobind;
using selfplay::connect4::Position;
using selfplay::connect4::Solver;

NB_MODULE(_core, m) {
  m.doc() = "Compiled core of selfplay (private: use selfplay.solver).";
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
}
