#pragma once
// A small line-chart writer producing standalone SVG 1.1 (no scripts, no external fonts), for
// the run's plots. One chart: a title, x/y axes with "nice" ticks (1, 2, 5 x 10^k; or decades
// on a log x axis) and labels, several series (NaN y values break a line), vertical markers
// with labels (phase boundaries), and a legend right of the plot area.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace wp {

struct PlotSeries {
  std::string label;
  std::vector<double> x, y;           // same length; NaN y breaks the line
  std::string color;                  // "" = next palette colour
  bool dashed = false;
  bool points = false;                // also draw a dot at every point
  bool steps = false;                 // a step function: each value holds until the next x
};

struct PlotMarker {
  double x = 0;
  std::string label;
};

struct LineChart {
  static constexpr double automatic = std::numeric_limits<double>::quiet_NaN();
  std::string title, x_label, y_label;
  bool log_x = false;                 // x <= 0 points are dropped on a log axis
  bool y_percent = false;             // y values are fractions, ticks show percent
  bool x_percent = false;             // the same for x
  bool legend = true;                 // false: no legend (a panel whose title names its series)
  double x_min = automatic, x_max = automatic, y_min = automatic, y_max = automatic;
  std::vector<PlotSeries> series;
  std::vector<PlotMarker> markers;
  int width = 880, height = 480;
  std::string id = "plot";            // prefix of the SVG ids (unique per panel of a figure)
};

std::string render_svg(const LineChart& chart);
void write_svg(const std::string& path, const LineChart& chart);   // atomic

// Grouped vertical bars: one group per category, one bar per series in each group, the value
// printed above each bar.
struct BarSeries {
  std::string label;
  std::vector<double> values;         // one per category; NaN = no bar
  std::string color;                  // "" = next palette colour
};
struct BarChart {
  std::string title, y_label;
  std::vector<std::string> categories;
  std::vector<BarSeries> series;
  bool y_percent = false;             // values are fractions, ticks and labels show percent
  double y_max = LineChart::automatic;
  int width = 880, height = 400;
};
std::string render_bar_svg(const BarChart& chart);

// A rows x cols grid of values in [0, 1], each cell shaded from white (0) to dark blue (1) and
// labelled with its percentage: the per-position sparsity of a Winograd tile.
struct Heatmap {
  std::string title;
  int rows = 0, cols = 0;
  std::vector<double> values;         // rows * cols, row-major
  int cell = 56;                      // pixels per cell
};
std::string render_heatmap_svg(const Heatmap& map);

// Several rendered SVG documents side by side, `columns` per row, under a figure title, as one
// standalone SVG (each panel a nested <svg> element). Panels must use distinct ids
// (LineChart::id) so that their clip paths do not collide.
std::string compose_svg_panels(const std::vector<std::string>& panels, int columns,
                               const std::string& title);

// Tick positions covering [lo, hi] with about `target` intervals at 1, 2 or 5 x 10^k; the
// range is widened to the outer ticks (returned through lo/hi).
std::vector<double> nice_ticks(double* lo, double* hi, int target);
// Ticks for a log axis over [lo, hi] (lo > 0): decades, plus 2 and 5 when the range spans fewer
// than 3 decades. The range is widened to whole decades (or to 1-2-5 steps).
std::vector<double> log_ticks(double* lo, double* hi);

}  // namespace wp
