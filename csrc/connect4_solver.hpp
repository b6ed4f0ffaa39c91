// Exact Connect Four (7x6) solver: bitboards, fail-soft negamax with alpha-beta over moves that
// do not lose at once, a transposition table of [lower, upper] bounds with enhanced
// transposition cutoffs, threat-based move ordering, and null-window bisection at the root.
// The design follows the ideas described in Pascal Pons' "Solving Connect 4" write-up.
//
// Pure C++17 with no Python headers; bindings.cpp exposes it to Python as selfplay._core.
//
// Score convention (Pascal Pons, "Solving Connect 4"): the value for the side to move under
// perfect play where both sides prefer the fastest win and the slowest loss. A win with the
// winner's k-th stone is worth 22 - k to the winner and k - 22 to the loser; a draw is 0.
// With n moves played, a win by the side to move on its next stone is (43 - n) / 2.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace selfplay::connect4 {

inline constexpr int kWidth = 7;
inline constexpr int kHeight = 6;
inline constexpr int kCells = kWidth * kHeight;

// Bit (col * 7 + row) is the cell in column `col` (0 = left) and row `row` (0 = bottom). Bit 6
// of each column is an always-empty sentinel so that shifted lines never wrap between columns.
using Bitboard = std::uint64_t;

// A position, stored as the stones of the side to move and all stones.
class Position {
 public:
  // The empty board.
  Position() = default;

  // Plays 0-based `columns` from the empty board. Throws std::invalid_argument for a column out
  // of range, a full column, a move after someone has connected four, or a won final position.
  static Position from_moves(const std::vector<int>& columns);

  int moves() const { return moves_; }
  bool can_play(int col) const;
  // Whether dropping a stone in `col` (which must be playable) connects four for the side to move.
  bool is_winning_move(int col) const;
  // Whether the side to move can connect four with its next stone.
  bool can_win_next() const;
  // Whether the player who made the last move has connected four.
  bool last_mover_won() const;

  void play_column(int col);
  // Plays the single-bit `move`, which must be a playable cell.
  void play(Bitboard move);

  // Playable cells (one per non-full column) after which the opponent cannot win at once;
  // 0 when every move loses at once. Precondition: the side to move cannot win at once.
  Bitboard non_losing_moves() const;
  // How many cells would complete a four for the side to move after it plays `move`.
  int threats_after(Bitboard move) const;

  // A unique 49-bit key: per column, the side to move's stones plus a marker above the top stone
  // (minus the constant bottom row, which keeps the empty board at 0).
  Bitboard key() const { return current_ + mask_; }

 private:
  Bitboard playable() const;
  Bitboard opponent_winning_cells() const;

  Bitboard current_ = 0;  // stones of the side to move
  Bitboard mask_ = 0;     // all stones
  int moves_ = 0;
};

// Fixed-size hash table of [lower, upper] score bounds and the best column found, one 64-bit word
// per entry, in buckets of two: one slot keeps the entry whose search cost the most nodes, the
// other is replaced on every store. No probe ever returns another position's entry.
class TranspositionTable {
 public:
  static constexpr int kNoMove = 7;
  static constexpr int kMinLog2Entries = 10;
  static constexpr int kMaxLog2Entries = 24;

  explicit TranspositionTable(int log2_entries);

  // Narrows [lo, hi] by the stored bounds of `key` and sets best_col to the stored column
  // (kNoMove if none), if there is an entry; returns whether there was one.
  bool probe(Bitboard key, int& lo, int& hi, int& best_col) const;
  // Records bounds found by a search of `nodes` nodes.
  void store(Bitboard key, int lo, int hi, int best_col, std::uint64_t nodes);
  void clear();

  std::size_t entries() const { return slots_.size(); }
  std::size_t bytes() const { return slots_.size() * sizeof(std::uint64_t); }

 private:
  struct Slot {
    std::size_t bucket;  // index of the bucket's first slot
    std::uint64_t tag;
  };
  Slot locate(Bitboard key) const;

  std::vector<std::uint64_t> slots_;
  int bucket_bits_;
};

class Solver {
 public:
  static constexpr int kDefaultLog2TableSize = 23;  // 8M entries, 64 MiB
  static constexpr int kMinLog2TableSize = TranspositionTable::kMinLog2Entries;
  static constexpr int kMaxLog2TableSize = TranspositionTable::kMaxLog2Entries;  // 128 MiB

  // Throws std::invalid_argument when log2_table_size is outside [10, 24].
  explicit Solver(int log2_table_size = kDefaultLog2TableSize);

  // Exact score of `position` for the side to move. A full board scores 0. Precondition: the
  // position is not won (Position::last_mover_won() is false). Thread-safe (serialised).
  int solve(const Position& position);

  // Score of each column for the side to move: the immediate-win score when the column wins at
  // once, otherwise minus the score of the resulting position; nullopt for a full column.
  std::array<std::optional<int>, kWidth> analyze(const Position& position);

  // Forgets every transposition table entry (it otherwise persists between calls).
  void reset();

  // Nodes searched by the most recent solve() or analyze() call.
  std::uint64_t last_node_count() const { return last_nodes_.load(); }
  std::size_t table_entries() const { return table_.entries(); }
  std::size_t table_bytes() const { return table_.bytes(); }

 private:
  int solve_unlocked(const Position& position);
  int negamax(const Position& position, int alpha, int beta);

  TranspositionTable table_;
  std::uint64_t nodes_ = 0;
  std::atomic<std::uint64_t> last_nodes_{0};
  std::mutex mutex_;
};

}  // namespace selfplay::connect4
