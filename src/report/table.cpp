// Text tables (contract: report/table.h).
#include "winoprune/report/table.h"

#include <algorithm>

namespace wp {

std::string pad_cell(const std::string& cell, size_t width, bool right) {
  if (cell.size() >= width) return cell;
  std::string pad(width - cell.size(), ' ');
  return right ? pad + cell : cell + pad;
}

std::string render_markdown(const TextTable& t, bool bold_last_row) {
  std::string s = "|";
  for (const auto& h : t.header) s += " " + h + " |";
  s += "\n|";
  for (bool r : t.right) s += r ? " ---: |" : " --- |";
  s += "\n";
  for (size_t i = 0; i < t.rows.size(); ++i) {
    bool bold = bold_last_row && i + 1 == t.rows.size();
    s += "|";
    for (const auto& c : t.rows[i])
      s += c.empty() ? " |" : " " + (bold ? "**" + c + "**" : c) + " |";
    s += "\n";
  }
  return s;
}

std::string render_aligned(const TextTable& t, bool total_row) {
  std::vector<size_t> width(t.header.size());
  for (size_t c = 0; c < width.size(); ++c) {
    width[c] = t.header[c].size();
    for (const auto& row : t.rows)
      if (c < row.size()) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t c = 0; c < cells.size() && c < width.size(); ++c)
      s += (c ? "  " : "") + pad_cell(cells[c], width[c], c < t.right.size() && t.right[c]);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out += s + "\n";
  };
  size_t total_width = 0;
  for (size_t w : width) total_width += w + 2;
  std::string rule(total_width >= 2 ? total_width - 2 : 0, '-');
  line(t.header);
  out += rule + "\n";
  size_t body = t.rows.size() - (total_row && !t.rows.empty() ? 1 : 0);
  for (size_t i = 0; i < body; ++i) line(t.rows[i]);
  if (body < t.rows.size()) {
    out += rule + "\n";
    line(t.rows.back());
  }
  return out;
}

TablePrinter::TablePrinter(std::ostream& out, std::vector<std::string> headers,
                           std::vector<int> widths)
    : out_(out), widths_(std::move(widths)) {
  row(headers);
  int total = 0;
  for (int w : widths_) total += w + 1;
  out_ << std::string(static_cast<size_t>(total), '-') << '\n';
}

void TablePrinter::row(const std::vector<std::string>& cells) {
  for (size_t i = 0; i < cells.size(); ++i) {
    int w = i < widths_.size() ? widths_[i] : 12;
    out_ << pad_cell(cells[i], static_cast<size_t>(std::max(w, 0)), true) << ' ';
  }
  out_ << std::endl;
}

}  // namespace wp
