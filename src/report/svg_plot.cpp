// Line charts as standalone SVG (contract: report/svg_plot.h).
#include "winoprune/report/svg_plot.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "winoprune/io/atomic_file.h"

namespace wp {

namespace {

// Tableau 10: distinguishable, print-safe, the matplotlib default.
const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

// Average glyph advance of a 12 px sans-serif font, for sizing the legend (DejaVu Sans ~7 px).
constexpr double kCharWidth = 7.0;
constexpr double kMarkerCharWidth = 6.5;   // the 11 px marker labels

std::string esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string f2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// Tick label: enough decimals for `step`; large values as 12k / 1.5M.
std::string tick_label(double v, double step, bool percent) {
  if (percent) {
    v *= 100;
    step *= 100;
  }
  if (std::fabs(v) < 1e-12 * std::max(1.0, std::fabs(step))) v = 0;
  char buf[32];
  double a = std::fabs(v);
  if (!percent && a >= 1e6 && step >= 1e5)
    std::snprintf(buf, sizeof buf, "%gM", v / 1e6);
  else if (!percent && a >= 1e4 && step >= 1e3)
    std::snprintf(buf, sizeof buf, "%gk", v / 1e3);
  else {
    int decimals = step > 0 ? std::max(0, int(-std::floor(std::log10(step) + 1e-9))) : 0;
    std::snprintf(buf, sizeof buf, "%.*f", std::min(decimals, 8), v);
  }
  return std::string(buf) + (percent ? "%" : "");
}

// 1, 20, 500, 1k, 10k, 2M; tiny values in exponent form.
std::string log_tick_label(double v) {
  char buf[32];
  if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%gM", v / 1e6);
  else if (v >= 1e3)
    std::snprintf(buf, sizeof buf, "%gk", v / 1e3);
  else if (v < 1e-3)
    std::snprintf(buf, sizeof buf, "%.0e", v);
  else
    std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// The start of a standalone SVG document of width x height pixels: XML prolog, the root element
// (default font) and a white background. Every figure of this file begins with it.
std::string svg_document_start(const std::string& width, const std::string& height) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + width +
         "\" height=\"" + height + "\" viewBox=\"0 0 " + width + " " + height +
         "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
         "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
}

// Data coordinate -> pixel along one axis.
struct Scale {
  double lo, hi, p0, p1;
  bool log;
  double operator()(double v) const {
    double t = log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
                   : (v - lo) / (hi - lo);
    return p0 + t * (p1 - p0);
  }
};

}  // namespace

std::vector<double> nice_ticks(double* lo, double* hi, int target) {
  if (!(std::isfinite(*lo) && std::isfinite(*hi))) *lo = 0, *hi = 1;
  if (*hi < *lo) std::swap(*lo, *hi);
  if (*hi == *lo) {
    double pad = *lo == 0 ? 1.0 : 0.05 * std::fabs(*lo);
    *lo -= pad;
    *hi += pad;
  }
  double raw = (*hi - *lo) / std::max(1, target);
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double r = raw / mag;
  double step = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
  double first = std::floor(*lo / step + 1e-9) * step;
  double last = std::ceil(*hi / step - 1e-9) * step;
  std::vector<double> ticks;
  for (int i = 0; first + i * step <= last + step * 1e-6; ++i) ticks.push_back(first + i * step);
  *lo = first;
  *hi = last;
  return ticks;
}

std::vector<double> log_ticks(double* lo, double* hi) {
  if (!(*lo > 0) || !std::isfinite(*lo)) *lo = 1;
  if (!(*hi > *lo) || !std::isfinite(*hi)) *hi = *lo * 10;
  int dlo = int(std::floor(std::log10(*lo) + 1e-12));
  int dhi = int(std::ceil(std::log10(*hi) - 1e-12));
  if (dhi == dlo) ++dhi;
  std::vector<double> ticks;
  if (dhi - dlo >= 3) {
    for (int d = dlo; d <= dhi; ++d) ticks.push_back(std::pow(10.0, d));
    *lo = ticks.front();
    *hi = ticks.back();
    return ticks;
  }
  std::vector<double> all;
  for (int d = dlo; d <= dhi; ++d)
    for (double m : {1.0, 2.0, 5.0}) all.push_back(m * std::pow(10.0, d));
  // The widest 1-2-5 values bracketing [lo, hi].
  size_t a = 0, b = all.size() - 1;
  while (a + 1 < all.size() && all[a + 1] <= *lo * (1 + 1e-12)) ++a;
  while (b > 0 && all[b - 1] >= *hi * (1 - 1e-12)) --b;
  ticks.assign(all.begin() + long(a), all.begin() + long(b) + 1);
  *lo = ticks.front();
  *hi = ticks.back();
  return ticks;
}

std::string render_svg(const LineChart& c) {
  // ---- data ranges ----
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const PlotSeries& s : c.series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      double x = s.x[i], y = s.y[i];
      if (!std::isfinite(x) || !std::isfinite(y) || (c.log_x && x <= 0)) continue;
      xlo = std::min(xlo, x), xhi = std::max(xhi, x);
      ylo = std::min(ylo, y), yhi = std::max(yhi, y);
    }
  if (std::isfinite(c.x_min)) xlo = c.x_min;
  if (std::isfinite(c.x_max)) xhi = c.x_max;
  if (std::isfinite(c.y_min)) ylo = c.y_min;
  if (std::isfinite(c.y_max)) yhi = c.y_max;
  std::vector<double> xt = c.log_x ? log_ticks(&xlo, &xhi) : nice_ticks(&xlo, &xhi, 8);
  std::vector<double> yt = nice_ticks(&ylo, &yhi, 6);
  double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1;
  double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1;

  // ---- layout ----
  size_t longest = 0;
  for (const PlotSeries& s : c.series) longest = std::max(longest, s.label.size());
  double legend_w = c.series.empty() || !c.legend
                        ? 0 : 40 + kCharWidth * double(std::min<size_t>(longest, 40));
  size_t ytick_chars = 0;
  for (double v : yt) ytick_chars = std::max(ytick_chars, tick_label(v, ystep, c.y_percent).size());
  double left = 34 + kCharWidth * double(ytick_chars) + 8;
  double right = double(c.width) - 20 - legend_w;
  Scale sx{xlo, xhi, left, right, c.log_x};
  // Marker labels sit in a band above the plot area (inside it they would cross the data),
  // horizontally from the marker's line; a label that would overlap the previous one in its row
  // goes to the next row.
  struct Placed {
    double px;
    size_t row;
  };
  std::vector<Placed> placed(c.markers.size(), Placed{-1, 0});
  std::vector<double> row_end;
  for (size_t i = 0; i < c.markers.size(); ++i) {
    const PlotMarker& m = c.markers[i];
    if (!std::isfinite(m.x) || m.x < xlo || m.x > xhi || (c.log_x && m.x <= 0)) continue;
    double px = sx(m.x);
    double w = kMarkerCharWidth * double(m.label.size());
    size_t row = 0;
    while (row < row_end.size() && row_end[row] > px) ++row;
    if (row == row_end.size()) row_end.push_back(0);
    row_end[row] = px + 3 + w + 8;
    placed[i] = {px, row};
  }
  double band = 15.0 * double(row_end.size());
  double top = (c.title.empty() ? 20 : 44) + band;
  double bottom = double(c.height) - (c.x_label.empty() ? 30 : 52);
  Scale sy{ylo, yhi, bottom, top, false};

  std::string o;
  o += svg_document_start(std::to_string(c.width), std::to_string(c.height));
  o += "<defs><clipPath id=\"" + esc(c.id) + "-area\"><rect x=\"" + f2(left) + "\" y=\"" + f2(top) +
       "\" width=\"" + f2(right - left) + "\" height=\"" + f2(bottom - top) +
       "\"/></clipPath></defs>\n";
  if (!c.title.empty())
    o += "<text x=\"" + f2((left + right) / 2) + "\" y=\"26\" text-anchor=\"middle\" "
         "font-size=\"15\" font-weight=\"bold\">" + esc(c.title) + "</text>\n";

  // Grid.
  o += "<g class=\"grid\" stroke=\"#e6e6e6\" stroke-width=\"1\">\n";
  for (double v : yt)
    o += "<line x1=\"" + f2(left) + "\" y1=\"" + f2(sy(v)) + "\" x2=\"" + f2(right) +
         "\" y2=\"" + f2(sy(v)) + "\"/>\n";
  for (double v : xt)
    o += "<line x1=\"" + f2(sx(v)) + "\" y1=\"" + f2(top) + "\" x2=\"" + f2(sx(v)) + "\" y2=\"" +
         f2(bottom) + "\"/>\n";
  o += "</g>\n";

  // Markers (behind the series), labels in the band above the plot area.
  o += "<g class=\"markers\" font-size=\"11\" fill=\"#444444\">\n";
  for (size_t i = 0; i < c.markers.size(); ++i) {
    if (placed[i].px < 0) continue;
    double px = placed[i].px;
    double label_y = top - 5 - 15.0 * double(row_end.size() - 1 - placed[i].row);
    o += "<line class=\"marker\" x1=\"" + f2(px) + "\" y1=\"" + f2(label_y + 2) + "\" x2=\"" +
         f2(px) + "\" y2=\"" + f2(bottom) + "\" stroke=\"#888888\" stroke-dasharray=\"5,4\"/>\n";
    o += "<text x=\"" + f2(px + 3) + "\" y=\"" + f2(label_y) + "\">" + esc(c.markers[i].label) +
         "</text>\n";
  }
  o += "</g>\n";

  // Series.
  o += "<g clip-path=\"url(#" + esc(c.id) + "-area)\" fill=\"none\" stroke-width=\"1.8\" "
       "stroke-linejoin=\"round\" stroke-linecap=\"round\">\n";
  std::vector<std::string> colors;
  size_t next = 0;
  for (const PlotSeries& s : c.series) {
    std::string color = s.color.empty() ? kPalette[next++ % 10] : s.color;
    colors.push_back(color);
    std::string d, dots;
    bool pen_down = false;
    double last_py = 0;
    size_t n = std::min(s.x.size(), s.y.size());
    size_t drawn = 0;
    for (size_t i = 0; i < n; ++i) {
      double x = s.x[i], y = s.y[i];
      if (!std::isfinite(x) || !std::isfinite(y) || (c.log_x && x <= 0)) {
        pen_down = false;
        continue;
      }
      // Steps: hold the previous value up to this x, then jump.
      if (pen_down && s.steps) d += "L" + f2(sx(x)) + "," + f2(last_py);
      d += (pen_down ? "L" : "M") + f2(sx(x)) + "," + f2(sy(y));
      last_py = sy(y);
      pen_down = true;
      ++drawn;
      if (s.points)
        dots += "<circle cx=\"" + f2(sx(x)) + "\" cy=\"" + f2(sy(y)) + "\" r=\"2.8\"/>";
    }
    o += "<g class=\"series\" data-label=\"" + esc(s.label) + "\" stroke=\"" + color + "\">";
    if (!d.empty())
      o += "<path d=\"" + d + "\"" + (s.dashed ? " stroke-dasharray=\"6,4\"" : "") + "/>";
    // A lone point has no visible line: always give it a dot.
    if (!dots.empty() || drawn == 1) {
      if (dots.empty())
        for (size_t i = 0; i < n; ++i)
          if (std::isfinite(s.x[i]) && std::isfinite(s.y[i]) && !(c.log_x && s.x[i] <= 0))
            dots = "<circle cx=\"" + f2(sx(s.x[i])) + "\" cy=\"" + f2(sy(s.y[i])) +
                   "\" r=\"2.8\"/>";
      o += "<g fill=\"" + color + "\" stroke=\"none\">" + dots + "</g>";
    }
    o += "</g>\n";
  }
  o += "</g>\n";

  // Frame, ticks, tick labels, axis labels.
  o += "<rect x=\"" + f2(left) + "\" y=\"" + f2(top) + "\" width=\"" + f2(right - left) +
       "\" height=\"" + f2(bottom - top) + "\" fill=\"none\" stroke=\"#333333\"/>\n";
  o += "<g class=\"axes\" fill=\"#222222\" stroke=\"#333333\">\n";
  for (double v : xt) {
    double px = sx(v);
    o += "<line x1=\"" + f2(px) + "\" y1=\"" + f2(bottom) + "\" x2=\"" + f2(px) + "\" y2=\"" +
         f2(bottom + 5) + "\"/>";
    o += "<text x=\"" + f2(px) + "\" y=\"" + f2(bottom + 19) +
         "\" text-anchor=\"middle\" stroke=\"none\">" +
         esc(c.log_x ? log_tick_label(v) : tick_label(v, xstep, c.x_percent)) + "</text>\n";
  }
  for (double v : yt) {
    double py = sy(v);
    o += "<line x1=\"" + f2(left - 5) + "\" y1=\"" + f2(py) + "\" x2=\"" + f2(left) + "\" y2=\"" +
         f2(py) + "\"/>";
    o += "<text x=\"" + f2(left - 8) + "\" y=\"" + f2(py + 4) +
         "\" text-anchor=\"end\" stroke=\"none\">" + esc(tick_label(v, ystep, c.y_percent)) +
         "</text>\n";
  }
  o += "</g>\n";
  if (!c.x_label.empty())
    o += "<text x=\"" + f2((left + right) / 2) + "\" y=\"" + f2(double(c.height) - 12) +
         "\" text-anchor=\"middle\" font-size=\"13\">" + esc(c.x_label) + "</text>\n";
  if (!c.y_label.empty())
    o += "<text x=\"0\" y=\"0\" transform=\"translate(18," + f2((top + bottom) / 2) +
         ") rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">" + esc(c.y_label) +
         "</text>\n";

  // Legend.
  if (!c.series.empty() && c.legend) {
    double lx = right + 16, ly = top + 4;
    o += "<g class=\"legend\">\n";
    for (size_t i = 0; i < c.series.size(); ++i) {
      const PlotSeries& s = c.series[i];
      double y = ly + 20.0 * double(i) + 8;
      o += "<line x1=\"" + f2(lx) + "\" y1=\"" + f2(y) + "\" x2=\"" + f2(lx + 24) + "\" y2=\"" +
           f2(y) + "\" stroke=\"" + colors[i] + "\" stroke-width=\"2.5\"" +
           (s.dashed ? " stroke-dasharray=\"6,4\"" : "") + "/>";
      std::string label = s.label.size() > 40 ? s.label.substr(0, 39) + "~" : s.label;
      o += "<text x=\"" + f2(lx + 30) + "\" y=\"" + f2(y + 4) + "\">" + esc(label) + "</text>\n";
    }
    o += "</g>\n";
  }
  o += "</svg>\n";
  return o;
}

void write_svg(const std::string& path, const LineChart& chart) {
  write_text_file_atomic(path, render_svg(chart));
}

std::string render_bar_svg(const BarChart& c) {
  const size_t groups = c.categories.size(), per = c.series.size();
  double yhi = 0;
  for (const BarSeries& s : c.series)
    for (double v : s.values)
      if (std::isfinite(v)) yhi = std::max(yhi, v);
  if (std::isfinite(c.y_max)) yhi = c.y_max;
  double ylo = 0;
  std::vector<double> yt = nice_ticks(&ylo, &yhi, 5);
  const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1;
  size_t ytick_chars = 0;
  for (double v : yt) ytick_chars = std::max(ytick_chars, tick_label(v, ystep, c.y_percent).size());
  size_t longest = 0;
  for (const BarSeries& s : c.series) longest = std::max(longest, s.label.size());
  const double legend_w = per > 1 ? 40 + kCharWidth * double(std::min<size_t>(longest, 30)) : 0;
  const double left = 34 + kCharWidth * double(ytick_chars) + 8;
  const double right = double(c.width) - 20 - legend_w;
  const double top = c.title.empty() ? 24 : 50, bottom = double(c.height) - 40;
  Scale sy{ylo, yhi, bottom, top, false};
  const double group_w = groups ? (right - left) / double(groups) : 0;
  const double bar_w = per ? group_w * 0.75 / double(per) : 0;

  std::string o;
  o += svg_document_start(std::to_string(c.width), std::to_string(c.height));
  if (!c.title.empty())
    o += "<text x=\"" + f2((left + right) / 2) + "\" y=\"26\" text-anchor=\"middle\" "
         "font-size=\"15\" font-weight=\"bold\">" + esc(c.title) + "</text>\n";
  o += "<g class=\"grid\" stroke=\"#e6e6e6\">\n";
  for (double v : yt)
    o += "<line x1=\"" + f2(left) + "\" y1=\"" + f2(sy(v)) + "\" x2=\"" + f2(right) + "\" y2=\"" +
         f2(sy(v)) + "\"/>\n";
  o += "</g>\n";
  for (size_t k = 0; k < per; ++k) {
    const BarSeries& s = c.series[k];
    std::string color = s.color.empty() ? kPalette[k % 10] : s.color;
    o += "<g class=\"bars\" data-label=\"" + esc(s.label) + "\" fill=\"" + color + "\">\n";
    for (size_t g = 0; g < groups && g < s.values.size(); ++g) {
      double v = s.values[g];
      if (!std::isfinite(v)) continue;
      double x = left + group_w * double(g) + group_w * 0.125 + bar_w * double(k);
      double y = sy(std::min(std::max(v, ylo), yhi));
      o += "<rect class=\"bar\" x=\"" + f2(x) + "\" y=\"" + f2(y) + "\" width=\"" + f2(bar_w) +
           "\" height=\"" + f2(bottom - y) + "\"/>";
      char buf[32];
      if (c.y_percent)
        std::snprintf(buf, sizeof buf, "%.1f%%", 100 * v);
      else if (std::fabs(v) >= 1e6)
        std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
      else if (std::fabs(v) >= 1e4)
        std::snprintf(buf, sizeof buf, "%.0fk", v / 1e3);
      else
        std::snprintf(buf, sizeof buf, "%g", v);
      o += "<text x=\"" + f2(x + bar_w / 2) + "\" y=\"" + f2(y - 4) +
           "\" text-anchor=\"middle\" font-size=\"10\" fill=\"#222222\">" + buf + "</text>\n";
    }
    o += "</g>\n";
  }
  o += "<rect x=\"" + f2(left) + "\" y=\"" + f2(top) + "\" width=\"" + f2(right - left) +
       "\" height=\"" + f2(bottom - top) + "\" fill=\"none\" stroke=\"#333333\"/>\n";
  o += "<g class=\"axes\" fill=\"#222222\">\n";
  for (double v : yt)
    o += "<text x=\"" + f2(left - 8) + "\" y=\"" + f2(sy(v) + 4) + "\" text-anchor=\"end\">" +
         esc(tick_label(v, ystep, c.y_percent)) + "</text>\n";
  for (size_t g = 0; g < groups; ++g)
    o += "<text x=\"" + f2(left + group_w * (double(g) + 0.5)) + "\" y=\"" + f2(bottom + 18) +
         "\" text-anchor=\"middle\">" + esc(c.categories[g]) + "</text>\n";
  o += "</g>\n";
  if (!c.y_label.empty())
    o += "<text x=\"0\" y=\"0\" transform=\"translate(18," + f2((top + bottom) / 2) +
         ") rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">" + esc(c.y_label) + "</text>\n";
  if (per > 1) {
    o += "<g class=\"legend\">\n";
    for (size_t k = 0; k < per; ++k) {
      std::string color = c.series[k].color.empty() ? kPalette[k % 10] : c.series[k].color;
      double y = top + 12 + 20.0 * double(k);
      o += "<rect x=\"" + f2(right + 16) + "\" y=\"" + f2(y - 6) + "\" width=\"14\" height=\"12\" "
           "fill=\"" + color + "\"/><text x=\"" + f2(right + 36) + "\" y=\"" + f2(y + 4) + "\">" +
           esc(c.series[k].label) + "</text>\n";
    }
    o += "</g>\n";
  }
  o += "</svg>\n";
  return o;
}

std::string render_heatmap_svg(const Heatmap& m) {
  const double cell = m.cell, left = 34, top = m.title.empty() ? 30 : 54;
  const double grid_w = cell * m.cols, grid_h = cell * m.rows;
  const double bar_x = left + grid_w + 24;   // the colour scale right of the grid
  const int width = int(bar_x + 70), height = int(top + grid_h + 20);
  // White (0) to a dark blue (1), linear in each channel; labels switch to white when dark.
  auto shade = [](double v) {
    v = std::min(1.0, std::max(0.0, v));
    int r = int(255 + (8 - 255) * v), g = int(255 + (48 - 255) * v), b = int(255 + (107 - 255) * v);
    char buf[8];
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", r, g, b);
    return std::string(buf);
  };
  std::string o;
  o += svg_document_start(std::to_string(width), std::to_string(height));
  if (!m.title.empty())
    o += "<text x=\"" + f2(left + grid_w / 2) + "\" y=\"24\" text-anchor=\"middle\" "
         "font-size=\"14\" font-weight=\"bold\">" + esc(m.title) + "</text>\n";
  // Column and row indices of the tile.
  o += "<g fill=\"#555555\" font-size=\"11\">\n";
  for (int c = 0; c < m.cols; ++c)
    o += "<text x=\"" + f2(left + cell * (c + 0.5)) + "\" y=\"" + f2(top - 6) +
         "\" text-anchor=\"middle\">" + std::to_string(c) + "</text>";
  for (int r = 0; r < m.rows; ++r)
    o += "<text x=\"" + f2(left - 8) + "\" y=\"" + f2(top + cell * (r + 0.5) + 4) +
         "\" text-anchor=\"end\">" + std::to_string(r) + "</text>";
  o += "\n</g>\n<g class=\"cells\" font-size=\"" + f2(std::min(12.0, cell / 4.2)) + "\">\n";
  for (int r = 0; r < m.rows; ++r)
    for (int c = 0; c < m.cols; ++c) {
      size_t i = size_t(r) * size_t(m.cols) + size_t(c);
      double v = i < m.values.size() ? m.values[i] : std::nan("");
      double x = left + cell * c, y = top + cell * r;
      o += "<rect class=\"cell\" x=\"" + f2(x) + "\" y=\"" + f2(y) + "\" width=\"" + f2(cell) +
           "\" height=\"" + f2(cell) + "\" fill=\"" + (std::isfinite(v) ? shade(v) : "#dddddd") +
           "\" stroke=\"#ffffff\"/>";
      char buf[16];
      std::snprintf(buf, sizeof buf, "%.1f", 100 * v);
      if (std::isfinite(v))
        o += "<text x=\"" + f2(x + cell / 2) + "\" y=\"" + f2(y + cell / 2 + 4) +
             "\" text-anchor=\"middle\" fill=\"" + (v > 0.55 ? "#ffffff" : "#222222") + "\">" +
             buf + "</text>";
      o += "\n";
    }
  o += "</g>\n";
  // Colour scale: 0% at the bottom, 100% at the top.
  const int steps = 10;
  for (int k = 0; k < steps; ++k) {
    double v0 = double(k) / steps;
    o += "<rect x=\"" + f2(bar_x) + "\" y=\"" + f2(top + grid_h * (1 - v0 - 1.0 / steps)) +
         "\" width=\"14\" height=\"" + f2(grid_h / steps + 0.5) + "\" fill=\"" +
         shade(v0 + 0.5 / steps) + "\"/>";
  }
  o += "<rect x=\"" + f2(bar_x) + "\" y=\"" + f2(top) + "\" width=\"14\" height=\"" + f2(grid_h) +
       "\" fill=\"none\" stroke=\"#333333\"/>\n";
  o += "<text x=\"" + f2(bar_x + 18) + "\" y=\"" + f2(top + 9) + "\" font-size=\"11\">100%</text>";
  o += "<text x=\"" + f2(bar_x + 18) + "\" y=\"" + f2(top + grid_h) +
       "\" font-size=\"11\">0%</text>\n";
  o += "</svg>\n";
  return o;
}

std::string compose_svg_panels(const std::vector<std::string>& panels, int columns,
                               const std::string& title) {
  // Each panel's size from its root element's width/height attributes.
  struct Panel {
    std::string body;
    double w = 0, h = 0;
  };
  auto attr = [](const std::string& svg, size_t from, const char* name) {
    std::string key = std::string(" ") + name + "=\"";
    size_t at = svg.find(key, from);
    return at == std::string::npos ? 0.0 : std::atof(svg.c_str() + at + key.size());
  };
  std::vector<Panel> ps;
  for (const std::string& svg : panels) {
    size_t root = svg.find("<svg ");
    if (root == std::string::npos) continue;
    Panel p;
    p.w = attr(svg, root, "width");
    p.h = attr(svg, root, "height");
    p.body = svg.substr(root);
    ps.push_back(std::move(p));
  }
  columns = std::max(1, std::min(columns, int(ps.size())));
  const double head = title.empty() ? 0 : 34;
  std::vector<double> col_w(size_t(columns), 0.0), row_h;
  for (size_t i = 0; i < ps.size(); ++i) {
    size_t c = i % size_t(columns), r = i / size_t(columns);
    col_w[c] = std::max(col_w[c], ps[i].w);
    if (r >= row_h.size()) row_h.push_back(0);
    row_h[r] = std::max(row_h[r], ps[i].h);
  }
  double width = 0, height = head;
  for (double w : col_w) width += w;
  for (double h : row_h) height += h;
  std::string o;
  o += svg_document_start(f2(width), f2(height));
  if (!title.empty())
    o += "<text x=\"" + f2(width / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" "
         "font-weight=\"bold\">" + esc(title) + "</text>\n";
  double y = head;
  for (size_t r = 0; r < row_h.size(); ++r) {
    double x = 0;
    for (size_t c = 0; c < size_t(columns); ++c) {
      size_t i = r * size_t(columns) + c;
      if (i >= ps.size()) break;
      // A nested <svg> positioned by x/y; its own viewBox keeps its coordinates.
      o += "<svg class=\"panel\" x=\"" + f2(x) + "\" y=\"" + f2(y) + "\"" + ps[i].body.substr(4);
      x += col_w[c];
    }
    y += row_h[r];
  }
  o += "</svg>\n";
  return o;
}

}  // namespace wp
