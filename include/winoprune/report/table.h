#pragma once
// Text tables, one type for every table winoprune shows a person: report.md's tables (markdown),
// the layer table `winoprune report` prints (aligned columns sized to their widest cell) and the
// tables the bench suites print row by row as rows complete (fixed column widths).
#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace wp {

struct TextTable {
  std::vector<std::string> header;
  std::vector<bool> right;                       // right-aligned (numeric) columns
  std::vector<std::vector<std::string>> rows;
};

// `cell` padded with blanks to `width` (left of it when right-aligned); never cut.
std::string pad_cell(const std::string& cell, size_t width, bool right);

// | h | h |, | --- | ---: |, then one line per row; an empty cell is "| |". With bold_last_row
// (a total row) the last row's non-empty cells are **bold**.
std::string render_markdown(const TextTable& table, bool bold_last_row = false);

// Columns as wide as their widest cell (header included), two blanks between columns, trailing
// blanks trimmed; a rule of '-' under the header and, with total_row, one above the last row.
std::string render_aligned(const TextTable& table, bool total_row = false);

// Row by row at fixed widths (for tables printed while their rows are measured): every cell is
// right-aligned to its column's width (12 past the given widths) and followed by one blank; the
// constructor prints the header and a rule as wide as the columns. Each row is flushed.
class TablePrinter {
 public:
  TablePrinter(std::ostream& out, std::vector<std::string> headers, std::vector<int> widths);
  void row(const std::vector<std::string>& cells);

 private:
  std::ostream& out_;
  std::vector<int> widths_;
};

}  // namespace wp
