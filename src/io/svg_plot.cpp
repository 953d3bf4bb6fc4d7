// Line charts as standalone SVG (contract: io/svg_plot.h).
#include "winoprune/io/svg_plot.h"

#include <algorithm>
#include <cstdio>

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
  double legend_w = c.series.empty() ? 0 : 40 + kCharWidth * double(std::min<size_t>(longest, 40));
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
  o += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" +
       std::to_string(c.width) + "\" height=\"" + std::to_string(c.height) +
       "\" viewBox=\"0 0 " + std::to_string(c.width) + " " + std::to_string(c.height) +
       "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n";
  o += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  o += "<defs><clipPath id=\"plot-area\"><rect x=\"" + f2(left) + "\" y=\"" + f2(top) +
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
  o += "<g clip-path=\"url(#plot-area)\" fill=\"none\" stroke-width=\"1.8\" "
       "stroke-linejoin=\"round\" stroke-linecap=\"round\">\n";
  std::vector<std::string> colors;
  size_t next = 0;
  for (const PlotSeries& s : c.series) {
    std::string color = s.color.empty() ? kPalette[next++ % 10] : s.color;
    colors.push_back(color);
    std::string d, dots;
    bool pen_down = false;
    size_t n = std::min(s.x.size(), s.y.size());
    size_t drawn = 0;
    for (size_t i = 0; i < n; ++i) {
      double x = s.x[i], y = s.y[i];
      if (!std::isfinite(x) || !std::isfinite(y) || (c.log_x && x <= 0)) {
        pen_down = false;
        continue;
      }
      d += (pen_down ? "L" : "M") + f2(sx(x)) + "," + f2(sy(y));
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
         esc(c.log_x ? log_tick_label(v) : tick_label(v, xstep, false)) + "</text>\n";
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
  if (!c.series.empty()) {
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

}  // namespace wp
