// report/table.h: markdown, aligned columns, the row-by-row printer.
#include <sstream>

#include "support.h"
#include "winoprune/report/table.h"

using namespace wp;

TEST_CASE("text tables: markdown with a bold total, aligned columns with rules, fixed widths",
          "[report]") {
  TextTable t;
  t.header = {"layer", "params"};
  t.right = {false, true};
  t.rows = {{"conv1", "1,600"}, {"fc8", ""}, {"total", "12,345"}};
  CHECK(render_markdown(t, true) ==
        "| layer | params |\n| --- | ---: |\n| conv1 | 1,600 |\n| fc8 | |\n"
        "| **total** | **12,345** |\n");
  CHECK(render_markdown(t) ==
        "| layer | params |\n| --- | ---: |\n| conv1 | 1,600 |\n| fc8 | |\n| total | 12,345 |\n");
  CHECK(render_aligned(t, true) ==
        "layer  params\n"
        "-------------\n"
        "conv1   1,600\n"
        "fc8\n"
        "-------------\n"
        "total  12,345\n");

  std::ostringstream out;
  TablePrinter p(out, {"shape", "ms"}, {7, 4});
  p.row({"3x3", "1.5"});
  p.row({"longer-than-7", "2", "extra"});
  CHECK(out.str() == "  shape   ms \n-------------\n    3x3  1.5 \nlonger-than-7    2        extra \n");
}
