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
  double x_min = automatic, x_max = automatic, y_min = automatic, y_max = automatic;
  std::vector<PlotSeries> series;
  std::vector<PlotMarker> markers;
  int width = 880, height = 480;
};

std::string render_svg(const LineChart& chart);
void write_svg(const std::string& path, const LineChart& chart);   // atomic

// Tick positions covering [lo, hi] with about `target` intervals at 1, 2 or 5 x 10^k; the
// range is widened to the outer ticks (returned through lo/hi).
std::vector<double> nice_ticks(double* lo, double* hi, int target);
// Ticks for a log axis over [lo, hi] (lo > 0): decades, plus 2 and 5 when the range spans fewer
// than 3 decades. The range is widened to whole decades (or to 1-2-5 steps).
std::vector<double> log_ticks(double* lo, double* hi);

}  // namespace wp
