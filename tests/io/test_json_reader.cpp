// JsonReader's lenient mode and array readers (the strict mode is covered by the config tests).
#include <limits>

#include "support.h"
#include "winoprune/io/json_reader.h"

using namespace wp;

TEST_CASE("JsonReader lenient: null reads as absent, errors name file and path, nested inherit",
          "[io]") {
  const double inf = std::numeric_limits<double>::infinity();
  json j = json::parse(R"({"a": null, "b": 2, "s": null, "o": {"x": null, "y": "z"},
                           "l": [{"k": 1}, {"k": null}], "n": [1, 2.5], "i": [3, 4], "new": 1})");
  JsonReader in = JsonReader::lenient(j, "", "f.json");
  CHECK_FALSE(in.has("a"));
  CHECK(std::isnan(in.number("a", std::nan(""), -inf, inf)));
  CHECK(in.number("b", 0, -inf, inf) == 2);
  CHECK(in.string("s", "def") == "def");
  JsonReader o = in.object("o");
  CHECK(o.integer("x", 7, 0, 10) == 7);
  CHECK_THROWS_WITH(o.integer("y", 0, std::numeric_limits<int64_t>::min(),
                              std::numeric_limits<int64_t>::max()),
                    "f.json: o.y: expected an integer or null, got \"z\"");
  auto l = in.object_list("l");
  REQUIRE(l.size() == 2);
  CHECK(l[1].integer("k", -1, -5, 5) == -1);
  CHECK(l[1].path() == "l[1]");
  CHECK(in.number_list("n") == std::vector<double>{1, 2.5});
  CHECK(in.integer_list("i") == std::vector<int64_t>{3, 4});
  CHECK_THROWS_WITH(in.integer_list("n"), "f.json: n[1]: expected an integer, got 2.5");
  CHECK_THROWS_WITH(in.number_list("b"), "f.json: b: expected an array, got 2");
  CHECK(in.number_list("absent").empty());
  CHECK_THROWS_WITH(in.string("b", ""), "f.json: b: expected a string or null, got 2");

  // The strict reader keeps null as a value of the wrong type.
  JsonReader strict(j, "", "f.json");
  CHECK(strict.has("a"));
  CHECK_THROWS_WITH(strict.number("a", 0, -inf, inf), "f.json: a: expected a number, got null");
  CHECK_THROWS_WITH(strict.number("a", 0, 0, 1), "f.json: a: expected a number in [0, 1], got null");
}
