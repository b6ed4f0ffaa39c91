#include "connect4_solver.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace selfplay::connect4 {
namespace {

constexpr int kColumnBits = kHeight + 1;  // 6 cells and the sentinel

constexpr Bitboard bottom_row() {
  Bitboard b = 0;
  for (int c = 0; c < kWidth; ++c) b |= Bitboard{1} << (c * kColumnBits);
  return b;
}

constexpr Bitboard kBottom = bottom_row();
constexpr Bitboard kBoard = kBottom * ((Bitboard{1} << kHeight) - 1);  // every real cell

constexpr Bitboard column_cells(int col) {
  return ((Bitboard{1} << kHeight) - 1) << (col * kColumnBits);
}
constexpr Bitboard top_cell(int col) {
  return Bitboard{1} << (kHeight - 1 + col * kColumnBits);
}

// Shifts by `d` cells: +1 up a column, +7 one column right, +8 up-right, +6 down-right.
constexpr int kDirections[4] = {1, kColumnBits, kColumnBits + 1, kColumnBits - 1};

// Whether `stones` contains four in a line. The sentinel row and the bits above the board are
// always empty in `stones`, so a shifted line that leaves the board is broken there.
bool has_four(Bitboard stones) {
  for (int d : kDirections) {
    const Bitboard pairs = stones & (stones >> d);
    if (pairs & (pairs >> (2 * d))) return true;
  }
  return false;
}

// Cells (empty or not) that would give `stones` four in a line.
Bitboard completing_cells(Bitboard stones) {
  // Vertically only the cell above three stacked stones can complete a line.
  Bitboard r = (stones << 1) & (stones << 2) & (stones << 3);
  for (int i = 1; i < 4; ++i) {
    const int d = kDirections[i];
    const Bitboard before = (stones << d) & (stones << (2 * d));  // the two cells below x
    const Bitboard after = (stones >> d) & (stones >> (2 * d));   // the two cells above x
    r |= before & (stones << (3 * d));  // x-3d x-2d x-d
    r |= before & (stones >> d);        // x-2d x-d . x+d
    r |= after & (stones << d);         // x-d . x+d x+2d
    r |= after & (stones >> (3 * d));   // x+d x+2d x+3d
  }
  return r;
}

int popcount(Bitboard b) { return __builtin_popcountll(b); }

// Nodes with fewer moves played look their children up in the table before searching any of
// them. Deeper down the extra probes cost more than the searches they save (measured).
constexpr int kEtcMaxMoves = 32;

// Columns searched centre first: central stones take part in more lines.
constexpr int kColumnOrder[kWidth] = {3, 2, 4, 1, 5, 0, 6};

// The candidate moves of one node, sorted by descending score; ties keep insertion order.
class MoveList {
 public:
  void add(Bitboard move, int col, int score) {
    int i = size_;
    for (; i > 0 && entries_[i - 1].score < score; --i) entries_[i] = entries_[i - 1];
    entries_[i] = {move, col, score};
    ++size_;
  }
  int size() const { return size_; }
  Bitboard move(int i) const { return entries_[i].move; }
  int column(int i) const { return entries_[i].col; }

 private:
  struct Entry {
    Bitboard move;
    int col;
    int score;
  };
  Entry entries_[kWidth];
  int size_ = 0;
};

[[noreturn]] void invalid(const std::string& message) { throw std::invalid_argument(message); }

}  // namespace

// ---------------------------------------------------------------------------------- Position

Position Position::from_moves(const std::vector<int>& columns) {
  Position p;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const int col = columns[i];
    const std::string where = "move index " + std::to_string(i);
    if (col < 0 || col >= kWidth) {
      invalid(where + ": column " + std::to_string(col) + " is outside 0.." +
              std::to_string(kWidth - 1));
    }
    if (p.last_mover_won()) invalid(where + ": the game was already won");
    if (!p.can_play(col)) invalid(where + ": column " + std::to_string(col) + " is full");
    p.play_column(col);
  }
  if (p.last_mover_won()) {
    invalid("the position is already won (by move index " + std::to_string(columns.size() - 1) +
            ")");
  }
  return p;
}

bool Position::can_play(int col) const { return (mask_ & top_cell(col)) == 0; }

Bitboard Position::playable() const { return (mask_ + kBottom) & kBoard; }

bool Position::is_winning_move(int col) const {
  return (completing_cells(current_) & playable() & column_cells(col)) != 0;
}

bool Position::can_win_next() const { return (completing_cells(current_) & playable()) != 0; }

bool Position::last_mover_won() const { return has_four(current_ ^ mask_); }

void Position::play_column(int col) {
  play((mask_ + (Bitboard{1} << (col * kColumnBits))) & column_cells(col));  // lowest empty cell
}

void Position::play(Bitboard move) {
  current_ ^= mask_;  // the opponent becomes the side to move
  mask_ |= move;
  ++moves_;
}

Bitboard Position::opponent_winning_cells() const {
  return completing_cells(current_ ^ mask_) & (kBoard ^ mask_);
}

Bitboard Position::non_losing_moves() const {
  Bitboard moves = playable();
  const Bitboard threats = opponent_winning_cells();
  const Bitboard forced = moves & threats;
  if (forced) {
    if (forced & (forced - 1)) return 0;  // two immediate threats: cannot block both
    moves = forced;
  }
  return moves & ~(threats >> 1);  // never play just below an opponent's winning cell
}

int Position::threats_after(Bitboard move) const {
  const Bitboard mine = current_ | move;
  return popcount(completing_cells(mine) & (kBoard ^ (mask_ | move)));
}

// ------------------------------------------------------------------------ TranspositionTable

namespace {

// A key is hashed by a bijection of the 49-bit key space: its top bits pick the bucket and the
// rest, the tag, is stored. Equal (bucket, tag) pairs thus mean equal keys: no false hits.
constexpr int kKeyBits = kWidth * kColumnBits;
constexpr std::uint64_t kKeyMask = (std::uint64_t{1} << kKeyBits) - 1;
constexpr std::uint64_t kHashMultiplier = 0x9E3779B97F4A7C15ULL & kKeyMask;  // odd: invertible
static_assert(kHashMultiplier & 1, "the hash must be a bijection");

// Entry layout, low to high: tag (up to 39 bits), lower bound (6), upper bound (6),
// best column (3), log2 of the search's node count (5).
constexpr int kTagBits = kKeyBits - (TranspositionTable::kMinLog2Entries - 1);
constexpr std::uint64_t kTagMask = (std::uint64_t{1} << kTagBits) - 1;
constexpr int kBoundBits = 6;
constexpr std::uint64_t kBoundMask = (std::uint64_t{1} << kBoundBits) - 1;
// Scores lie in [-21, 21]; stored with this offset each bound field is non-zero, so an entry in
// use is never the all-zero word of an empty slot.
constexpr int kBoundOffset = 22;
constexpr int kLoShift = kTagBits;
constexpr int kHiShift = kLoShift + kBoundBits;
constexpr int kMoveShift = kHiShift + kBoundBits;
constexpr int kWorkShift = kMoveShift + 3;
constexpr int kMaxWork = 31;
static_assert(kWorkShift + 5 <= 64, "a table entry is one 64-bit word");

int work_of(std::uint64_t slot) { return static_cast<int>(slot >> kWorkShift); }

}  // namespace

TranspositionTable::TranspositionTable(int log2_entries)
    : slots_(std::size_t{1} << log2_entries, 0), bucket_bits_(log2_entries - 1) {}

TranspositionTable::Slot TranspositionTable::locate(Bitboard key) const {
  const std::uint64_t h = (key * kHashMultiplier) & kKeyMask;
  const int tag_bits = kKeyBits - bucket_bits_;
  return {static_cast<std::size_t>(h >> tag_bits) * 2, h & ((std::uint64_t{1} << tag_bits) - 1)};
}

bool TranspositionTable::probe(Bitboard key, int& lo, int& hi, int& best_col) const {
  const Slot where = locate(key);
  for (std::size_t i = where.bucket; i < where.bucket + 2; ++i) {
    const std::uint64_t slot = slots_[i];
    if (slot == 0 || (slot & kTagMask) != where.tag) continue;
    lo = std::max(lo, static_cast<int>((slot >> kLoShift) & kBoundMask) - kBoundOffset);
    hi = std::min(hi, static_cast<int>((slot >> kHiShift) & kBoundMask) - kBoundOffset);
    best_col = static_cast<int>((slot >> kMoveShift) & 7);
    return true;
  }
  return false;
}

void TranspositionTable::store(Bitboard key, int lo, int hi, int best_col, std::uint64_t nodes) {
  const Slot where = locate(key);
  const int work = nodes == 0 ? 0 : std::min(kMaxWork, 63 - __builtin_clzll(nodes));
  const std::uint64_t entry = where.tag |
                              (static_cast<std::uint64_t>(lo + kBoundOffset) << kLoShift) |
                              (static_cast<std::uint64_t>(hi + kBoundOffset) << kHiShift) |
                              (static_cast<std::uint64_t>(best_col) << kMoveShift) |
                              (static_cast<std::uint64_t>(work) << kWorkShift);
  // Slot 0 keeps the costliest search seen in the bucket; slot 1 takes everything else.
  std::uint64_t& first = slots_[where.bucket];
  std::uint64_t& second = slots_[where.bucket + 1];
  if (first != 0 && (first & kTagMask) == where.tag) {
    first = entry;
  } else if (work >= work_of(first)) {
    if (first != 0) second = first;  // the older entry is demoted (and a stale copy dropped)
    first = entry;
  } else {
    second = entry;
  }
}

void TranspositionTable::clear() { std::fill(slots_.begin(), slots_.end(), 0); }

// ------------------------------------------------------------------------------------ Solver

namespace {

int checked_log2_size(int log2_table_size) {
  if (log2_table_size < Solver::kMinLog2TableSize || log2_table_size > Solver::kMaxLog2TableSize) {
    invalid("log2_table_size must be in [" + std::to_string(Solver::kMinLog2TableSize) + ", " +
            std::to_string(Solver::kMaxLog2TableSize) + "], got " +
            std::to_string(log2_table_size));
  }
  return log2_table_size;
}

}  // namespace

Solver::Solver(int log2_table_size) : table_(checked_log2_size(log2_table_size)) {}

void Solver::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  table_.clear();
}

int Solver::solve(const Position& position) {
  std::lock_guard<std::mutex> lock(mutex_);
  nodes_ = 0;
  const int score = solve_unlocked(position);
  last_nodes_ = nodes_;
  return score;
}

std::array<std::optional<int>, kWidth> Solver::analyze(const Position& position) {
  std::lock_guard<std::mutex> lock(mutex_);
  nodes_ = 0;
  std::array<std::optional<int>, kWidth> scores;
  for (int col = 0; col < kWidth; ++col) {
    if (!position.can_play(col)) continue;
    if (position.is_winning_move(col)) {
      scores[col] = (kCells + 1 - position.moves()) / 2;
      continue;
    }
    Position child = position;
    child.play_column(col);
    scores[col] = -solve_unlocked(child);
  }
  last_nodes_ = nodes_;
  return scores;
}

int Solver::solve_unlocked(const Position& position) {
  const int n = position.moves();
  if (position.can_win_next()) return (kCells + 1 - n) / 2;
  if (n == kCells) return 0;
  // Bisect the score interval with null-window searches, each of which only answers
  // "is the score above med?" and so prunes far more than a full-window search. Probing
  // near 0 first settles the win/draw/loss question with the cheapest searches.
  int lo = -(kCells - n) / 2;
  int hi = (kCells + 1 - n) / 2;
  while (lo < hi) {
    int med = lo + (hi - lo) / 2;
    if (med <= 0 && lo / 2 < med) {
      med = lo / 2;
    } else if (med >= 0 && hi / 2 > med) {
      med = hi / 2;
    }
    const int r = negamax(position, med, med + 1);
    if (r <= med) {
      hi = std::min(hi, r);
    } else {
      lo = std::max(lo, r);
    }
  }
  return lo;
}

// Fail-soft negamax: returns v with v <= alpha meaning score <= v, v >= beta meaning
// score >= v, and the exact score otherwise. Precondition: the side to move cannot win at once.
int Solver::negamax(const Position& position, int alpha, int beta) {
  ++nodes_;
  const int n = position.moves();
  const Bitboard candidates = position.non_losing_moves();
  if (candidates == 0) return -(kCells - n) / 2;  // the opponent wins with its next stone
  if (n >= kCells - 2) return 0;                  // neither side can still connect four

  // The opponent cannot win with its next stone (we play a non-losing move) and we cannot win
  // with this one (precondition), so both players are at least one stone further.
  int lo = -(kCells - 2 - n) / 2;
  int hi = (kCells - 1 - n) / 2;
  const std::uint64_t nodes_before = nodes_;
  const Bitboard key = position.key();
  int tt_col = TranspositionTable::kNoMove;
  table_.probe(key, lo, hi, tt_col);
  if (lo >= hi) return lo;
  if (lo >= beta) return lo;
  if (hi <= alpha) return hi;
  int a = std::max(alpha, lo);
  const int b = std::min(beta, hi);
  const int a0 = a;

  // The table's best column first, then the moves that create the most threats.
  constexpr int kFirst = kCells;
  MoveList moves;
  for (int col : kColumnOrder) {
    const Bitboard move = candidates & column_cells(col);
    if (!move) continue;
    if (n < kEtcMaxMoves) {
      // Enhanced transposition cutoff: a child whose stored upper bound already refutes it.
      Position child = position;
      child.play(move);
      int child_lo = -kCells, child_hi = kCells, child_col = 0;
      if (table_.probe(child.key(), child_lo, child_hi, child_col) && -child_hi >= b) {
        table_.store(key, std::max(lo, -child_hi), hi, col, nodes_ - nodes_before);
        return -child_hi;
      }
    }
    moves.add(move, col, col == tt_col ? kFirst : position.threats_after(move));
  }

  int best = -kCells;
  int best_col = tt_col;
  for (int i = 0; i < moves.size(); ++i) {
    Position child = position;
    child.play(moves.move(i));
    const int score = -negamax(child, -b, -a);
    if (score >= b) {
      table_.store(key, std::max(lo, score), hi, moves.column(i), nodes_ - nodes_before);
      return score;
    }
    if (score > best) {
      best = score;
      if (score > a) {
        a = score;
        best_col = moves.column(i);
      }
    }
  }
  // Each child score is exact or an upper bound, so best bounds the score from above, and is
  // exact when some child's exact score beat the initial alpha.
  table_.store(key, best > a0 ? best : lo, best, best_col, nodes_ - nodes_before);
  return best;
}

}  // namespace selfplay::connect4
