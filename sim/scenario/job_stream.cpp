#include "scenario/job_stream.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "models/serving_schedule.hpp"
#include "scenario/workload_reader.hpp"

namespace fleetsim {

namespace {

// One job of a stream, before it becomes a workload.
struct JobRow {
  std::string name;
  double submit_s = 0;
  long long gpus = 0;
  std::optional<double> duration_s;
  std::optional<double> tokens;
  std::string tenant;  // empty: the template's (or `default`)
  std::optional<long long> priority;
  std::string accelerator;  // empty: the template's
  std::string model;        // empty: the template's
  std::string kind = "pretrain";  // trace rows may be services (their `kind` column)
  SourceLocation where;     // the row (trace) or the stream (generator)
};

// Kinds a trace row may have: training jobs, and services that run for their duration.
const std::vector<std::string> kTraceKinds = {"pretrain", "inference", "reasoning"};

bool is_name(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

std::string seconds_text(double s) {
  char text[64];
  std::snprintf(text, sizeof text, "%.17gs", s);
  return text;
}

// Checks a template once, where it is written: a mapping of the keys of its kind without
// the ones each job sets.
bool check_template_keys(const YamlReader& t, const std::string& kind) {
  if (!t.node().IsMap()) {
    t.problem("expected a mapping of workload keys, got " + describe_yaml(t.node()));
    return false;
  }
  bool ok = true;
  for (const char* key : {"name", "gpus", "submit"})
    if (t.has(key)) {
      t.problem_at(key, std::string("expected no `") + key + "` in a template (each job sets its own)");
      ok = false;
    }
  if (t.has("kind") && !(t.node()["kind"].IsScalar() && t.node()["kind"].Scalar() == kind)) {
    t.problem_at("kind", "expected kind " + kind + " (or no kind) in this template, got " +
                             describe_yaml(t.node()["kind"]));
    ok = false;
  }
  return ok;
}

// The `template` (pretrain keys) an owner must have.
bool check_template(const YamlReader& owner, bool required) {
  if (!owner.has("template")) {
    if (required)
      owner.problem_at("template", "expected a workload template (kind pretrain: model, seq_len, global_batch, ...), "
                                   "got nothing");
    return !required;
  }
  return check_template_keys(owner.child("template"), "pretrain");
}

// Turns the rows into workloads through the template; stops at the first row with a
// problem (a template that fails one row usually fails them all).
void expand(const std::vector<JobRow>& rows, const YamlReader& owner, const std::string& label,
            const Catalog& catalog, const AddWorkload& add) {
  ProblemList& problems = owner.problems();
  for (const JobRow& row : rows) {
    // A service row: its kind's template from `templates`, read as a workload of that kind.
    const bool service = row.kind != "pretrain";
    YAML::Node node = YAML::Clone(service ? owner.node()["templates"][row.kind] : owner.node()["template"]);
    node["kind"] = row.kind;
    node["name"] = row.name;
    node["gpus"] = row.gpus;
    node["submit"] = seconds_text(row.submit_s);
    if (row.duration_s) node["duration"] = seconds_text(*row.duration_s);
    if (row.tokens) node["tokens"] = *row.tokens;
    if (!row.tenant.empty()) node["tenant"] = row.tenant;
    if (row.priority) node["priority"] = *row.priority;
    if (!row.accelerator.empty()) node["accelerator"] = row.accelerator;
    if (!row.model.empty()) node["model"] = row.model;
    if (!service && !node["parallelism"]) node["parallelism"] = "auto";
    // A template split without dp: data parallel over whatever the job's size leaves.
    YAML::Node par = node["parallelism"];
    if (!service && par.IsMap() && !par["dp"]) {
      long long per_replica = 1;
      for (const char* k : {"tp", "pp", "cp"})
        if (par[k] && par[k].IsScalar()) {
          // A factor above the job's size cannot divide it (and must not overflow the
          // product); the workload reader reports the split.
          const long long factor = std::max(1LL, std::atoll(par[k].Scalar().c_str()));
          per_replica = factor > row.gpus || per_replica > row.gpus ? row.gpus + 1 : per_replica * factor;
        }
      if (per_replica <= row.gpus && row.gpus % per_replica == 0) par["dp"] = row.gpus / per_replica;
    }
    ReaderContext context{row.where.file, &problems, {}, row.where};
    YamlReader reader(node, label + "." + row.name, &context);
    WorkloadSpec spec;
    spec.name = row.name;
    spec.stream = label == "trace" ? "trace" : owner.node()["name"].Scalar();
    spec.kind = row.kind;
    spec.where = row.where;
    const std::size_t before = problems.size();
    if (service) read_inference(reader, spec, catalog);
    else read_pretrain(reader, spec, catalog);
    if (problems.size() != before) return;
    add(reader, std::move(spec));
    if (problems.size() != before) return;
  }
}

// ---- trace files --------------------------------------------------------------------

const std::vector<std::string> kTraceColumns = {"name",   "submit_s", "gpus",        "duration_s", "tokens",
                                                "tenant", "priority", "accelerator", "model",      "kind"};

struct Cell {
  std::string text;
  int column = 1;  // 1-based character column in its line
};

std::vector<Cell> split_csv(const std::string& line) {
  std::vector<Cell> cells;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    std::string text = line.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) text.pop_back();
    std::size_t lead = 0;
    while (lead < text.size() && text[lead] == ' ') ++lead;
    cells.push_back({text.substr(lead), int(start + lead) + 1});
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return cells;
}

std::optional<double> parse_number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (*end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::vector<JobRow> read_trace_file(const std::string& path, const Catalog& catalog,
                                    ProblemList& problems) {
  std::ifstream in(path);
  const std::string& shown = path;  // as errors name it
  std::vector<JobRow> rows;
  if (!in) {
    problems.add({shown, 0, 0}, "", "cannot read the trace file");
    return rows;
  }
  std::string line;
  int line_no = 0;
  std::vector<std::string> header;
  std::set<std::string> names;
  auto bad = [&](const Cell& cell, const std::string& column, const std::string& expected) {
    problems.add({shown, line_no, cell.column}, column,
                 "expected " + expected + ", got " + (cell.text.empty() ? "an empty cell" : "'" + cell.text + "'"));
  };
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (header.empty()) {
      if (line.empty() || line[0] == '#') continue;
      for (const Cell& cell : split_csv(line)) {
        if (std::find(kTraceColumns.begin(), kTraceColumns.end(), cell.text) == kTraceColumns.end()) {
          std::string message = "unknown column '" + cell.text + "'";
          const std::string close = closest_match(cell.text, kTraceColumns);
          message += close.empty() ? "; expected columns among name, submit_s, gpus, duration_s, tokens, tenant, "
                                     "priority, accelerator, model, kind"
                                   : "; did you mean '" + close + "'?";
          problems.add({shown, line_no, cell.column}, "", message);
        }
        header.push_back(cell.text);
      }
      for (const char* required : {"name", "submit_s", "gpus"})
        if (std::find(header.begin(), header.end(), required) == header.end())
          problems.add({shown, line_no, 1}, "", std::string("expected a `") + required + "` column in the header");
      if (!problems.empty()) return rows;
      continue;
    }
    if (line.empty()) continue;
    if (line.find('"') != std::string::npos) {
      problems.add({shown, line_no, int(line.find('"')) + 1}, "",
                   "expected plain cells (no quotes: names and values never contain commas)");
      continue;
    }
    const std::vector<Cell> cells = split_csv(line);
    if (cells.size() != header.size()) {
      problems.add({shown, line_no, 1}, "",
                   "expected " + std::to_string(header.size()) + " cells as in the header, got " +
                       std::to_string(cells.size()));
      continue;
    }
    JobRow row;
    row.where = {shown, line_no, 1};
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const Cell& cell = cells[c];
      const std::string& column = header[c];
      const std::string& text = cell.text;
      if (column == "name") {
        if (!is_name(text)) bad(cell, column, "a job name of letters, digits, '_', '-' or '.'");
        else if (!names.insert(text).second) bad(cell, column, "a name not used by an earlier row");
        row.name = text;
      } else if (column == "submit_s") {
        auto v = parse_number(text);
        if (!v || *v < 0) bad(cell, column, "a submit time in seconds, at least 0");
        else row.submit_s = *v;
      } else if (column == "gpus") {
        auto v = parse_number(text);
        if (!v || *v < 1 || *v != std::floor(*v) || *v > double(kMaxCount)) bad(cell, column, "a whole number of GPUs, at least 1");
        else row.gpus = static_cast<long long>(*v);
      } else if (column == "duration_s") {
        auto v = parse_number(text);
        if (!text.empty() && (!v || *v <= 0)) bad(cell, column, "a duration in seconds above 0, or an empty cell");
        else if (v) row.duration_s = *v;
      } else if (column == "tokens") {
        auto v = parse_number(text);
        if (!text.empty() && (!v || *v < 1)) bad(cell, column, "a token count of at least 1, or an empty cell");
        else if (v) row.tokens = *v;
      } else if (column == "tenant") {
        if (!text.empty() && !is_name(text)) bad(cell, column, "a tenant name of letters, digits, '_', '-' or '.'");
        row.tenant = text;
      } else if (column == "priority") {
        auto v = parse_number(text);
        if (!text.empty() && (!v || *v < 0 || *v != std::floor(*v) || *v > double(kMaxCount)))
          bad(cell, column, "a whole priority of at least 0, or an empty cell");
        else if (v) row.priority = static_cast<long long>(*v);
      } else if (column == "accelerator") {
        if (!text.empty() && !catalog.accelerator(text)) {
          const std::string close = closest_match(text, catalog.accelerator_names());
          bad(cell, column, "an accelerator from the catalog" + (close.empty() ? "" : " (did you mean '" + close + "'?)"));
        }
        row.accelerator = text;
      } else if (column == "kind") {
        if (!text.empty() && std::find(kTraceKinds.begin(), kTraceKinds.end(), text) == kTraceKinds.end())
          bad(cell, column, "pretrain, inference or reasoning (or an empty cell: pretrain)");
        else if (!text.empty()) row.kind = text;
      } else if (column == "model") {
        if (!text.empty() && !catalog.model(text)) {
          const std::string close = closest_match(text, catalog.model_names());
          bad(cell, column, "a model from the catalog" + (close.empty() ? "" : " (did you mean '" + close + "'?)"));
        }
        row.model = text;
      }
    }
    if (!rows.empty() && row.submit_s < rows.back().submit_s)
      problems.add({shown, line_no, 1}, "submit_s",
                   "expected rows in submission order (submit_s not below the row before's " +
                       seconds_text(rows.back().submit_s) + "), got " + seconds_text(row.submit_s));
    if (long(rows.size()) >= kMaxStreamJobs) {
      problems.add({shown, line_no, 1}, "", "expected at most " + std::to_string(kMaxStreamJobs) + " jobs in a trace");
      return rows;
    }
    rows.push_back(std::move(row));
    if (problems.size() >= 20) return rows;  // enough to act on
  }
  if (header.empty()) problems.add({shown, line_no, 1}, "", "expected a header row (name,submit_s,gpus,...), got none");
  else if (rows.empty() && problems.empty()) problems.add({shown, line_no, 1}, "", "expected at least one job row");
  return rows;
}

}  // namespace

void read_trace(const YamlReader& trace, const std::string& scenario_file, const Catalog& catalog,
                const AddWorkload& add) {
  if (!trace.expect_map({"file", "template", "templates"})) return;
  auto file = trace.string("file", true);
  // `templates`: one per service kind the trace's rows have.
  bool templates_ok = true;
  if (trace.has("templates")) {
    YamlReader templates = trace.child("templates");
    if (!templates.expect_map({"inference", "reasoning"})) templates_ok = false;
    else
      for (const char* kind : {"inference", "reasoning"})
        if (templates.has(kind)) templates_ok = check_template_keys(templates.child(kind), kind) && templates_ok;
  }
  if (!file) return;
  std::filesystem::path p(*file);
  if (p.is_relative()) p = std::filesystem::path(scenario_file).parent_path() / p;
  if (!std::filesystem::exists(p)) {
    trace.problem_at("file", "expected a trace file (CSV), but '" + p.string() + "' does not exist");
    return;
  }
  ProblemList& problems = trace.problems();
  const std::size_t before = problems.size();
  const std::vector<JobRow> rows = read_trace_file(p.string(), catalog, problems);
  const bool any_training = std::any_of(rows.begin(), rows.end(), [](const JobRow& r) { return r.kind == "pretrain"; });
  const bool template_ok = check_template(trace, any_training || rows.empty());
  if (problems.size() != before || !template_ok || !templates_ok) return;
  const YAML::Node& templ = trace.node()["template"];
  for (const JobRow& row : rows) {
    if (row.kind != "pretrain") {
      // A service row: its kind's template, and no token target (it serves for its duration).
      if (!trace.node()["templates"] || !trace.node()["templates"][row.kind]) {
        problems.add(row.where, "kind", "expected a template for kind " + row.kind + " in the trace's `templates`, "
                                        "got none");
        return;
      }
      if (row.tokens) {
        problems.add(row.where, "tokens", "expected no tokens on a service row (kind " + row.kind +
                                          ": it serves for its duration_s, or to the horizon), got " +
                                          std::to_string(static_cast<long long>(*row.tokens)));
        return;
      }
      continue;
    }
    // Every training row needs a duration or a token target, from the row or the template.
    if (!row.duration_s && !row.tokens && !templ["duration"] && !templ["tokens"]) {
      problems.add(row.where, "duration_s", "expected a duration_s or tokens for this job (or a duration or "
                                             "tokens in the template), got neither");
      return;
    }
  }
  expand(rows, trace, "trace", catalog, add);
}

void read_streams(const YamlReader& streams, std::uint64_t seed, Seconds horizon, const Catalog& catalog,
                  const AddWorkload& add) {
  if (!streams.expect_sequence()) return;
  ProblemList& problems = streams.problems();
  for (std::size_t i = 0; i < streams.node().size(); ++i) {
    YamlReader s = streams.element(i);
    if (!s.expect_map({"name", "rate", "jobs", "start", "gpus", "duration", "tenant", "priority", "template"}))
      continue;
    const std::size_t before = problems.size();
    auto name = s.string("name", true);
    if (name && !is_name(*name)) s.problem_at("name", "expected a stream name of letters, digits, '_', '-' or '.'");
    if (name && *name == "trace") s.problem_at("name", "expected a stream name other than 'trace' (the trace's own)");
    auto rate = s.quantity("rate", Dimension::EventRate, true, true);
    auto count = s.integer("jobs", 1, false);
    const double start = s.quantity("start", Dimension::Duration, false, false).value_or(0);
    auto tenant = s.string("tenant", false);
    if (tenant && !is_name(*tenant)) s.problem_at("tenant", "expected a tenant name of letters, digits, '_', '-' or '.'");
    auto priority = s.integer("priority", 0, false);
    const bool template_ok = check_template(s, true);

    // Sizes: one count, or {values, weights}.
    std::vector<long long> sizes;
    std::vector<double> weights;
    if (!s.has("gpus")) {
      s.problem_at("gpus", "expected GPUs per job: a count, or {values: [...], weights: [...]}, got nothing");
    } else if (s.child("gpus").node().IsMap()) {
      YamlReader g = s.child("gpus");
      if (g.expect_map({"values", "weights"})) {
        const YAML::Node& v = g.node()["values"];
        const YAML::Node& w = g.node()["weights"];
        if (!v || !v.IsSequence() || v.size() == 0) g.problem_at("values", "expected a list of GPU counts");
        else if (w && (!w.IsSequence() || w.size() != v.size()))
          g.problem_at("weights", "expected one weight per value (" + std::to_string(v.size()) + ")");
        else
          for (std::size_t k = 0; k < v.size(); ++k) {
            auto size = parse_number(v[k].IsScalar() ? v[k].Scalar() : "");
            auto weight = w ? parse_number(w[k].IsScalar() ? w[k].Scalar() : "") : std::optional<double>(1.0);
            if (!size || *size < 1 || *size != std::floor(*size) || *size > double(kMaxCount))
              g.child("values").element(k).problem("expected a whole number of GPUs, at least 1");
            else if (!weight || *weight < 0)
              g.child("weights").element(k).problem("expected a weight of at least 0");
            else {
              sizes.push_back(static_cast<long long>(*size));
              weights.push_back(*weight);
            }
          }
        if (!weights.empty() && std::all_of(weights.begin(), weights.end(), [](double x) { return x == 0; }))
          g.problem_at("weights", "expected at least one weight above 0");
      }
    } else if (auto size = s.integer("gpus", 1, true)) {
      sizes = {*size};
      weights = {1.0};
    }

    // Durations: a fixed duration, or lognormal {mean, sigma, max}.
    LengthDistribution duration;
    if (!s.has("duration")) {
      s.problem_at("duration", "expected a job duration (30min) or {mean, sigma, max}, got nothing");
    } else if (s.child("duration").node().IsMap()) {
      YamlReader d = s.child("duration");
      if (d.expect_map({"mean", "sigma", "max"})) {
        auto mean = d.quantity("mean", Dimension::Duration, true, true);
        auto sigma = d.number("sigma", 0, true);
        auto max = d.quantity("max", Dimension::Duration, true, true);
        if (mean && max && *max < *mean) d.problem_at("max", "expected a truncation at least the mean");
        if (max && *max > 2147483647.0) d.problem_at("max", "expected a truncation of at most 68 years (2^31 s)");
        if (mean && sigma && max) duration = LengthDistribution{*mean, *sigma, *max};
      }
    } else if (auto fixed = s.quantity("duration", Dimension::Duration, true, true)) {
      duration = LengthDistribution{*fixed, 0, *fixed};
    }
    if (rate && *rate > 0) {
      const double expected = count ? double(*count) : *rate * std::max(0.0, horizon.value() - start);
      if (expected > double(kMaxStreamJobs))
        s.problem("expected at most " + std::to_string(kMaxStreamJobs) + " jobs from a stream, got about " +
                  std::to_string(std::llround(expected)) + " (rate x time to the horizon); lower the rate or set jobs");
    }
    if (problems.size() != before || !template_ok || !name || !rate) continue;

    // Draws: arrivals, then sizes, then durations, each from its own stream of the seed.
    const std::uint64_t base = 0x5000 + 8 * i;
    std::vector<double> arrivals =
        poisson_arrivals(*rate, start, count ? std::optional<long long>(*count) : std::nullopt, horizon.value(), seed, base);
    // `jobs` caps the count; arrivals after the horizon would never be seen.
    arrivals.erase(std::lower_bound(arrivals.begin(), arrivals.end(), horizon.value()), arrivals.end());
    std::seed_seq seq{std::uint32_t(seed), std::uint32_t(seed >> 32), std::uint32_t(base + 1), 0x9b05u};
    std::mt19937_64 engine(seq);
    const double total_weight = [&] { double t = 0; for (double w : weights) t += w; return t; }();
    const std::vector<int> seconds = draw_lengths(duration, arrivals.size(), seed, base + 2);
    std::vector<JobRow> rows;
    char suffix[32];
    for (std::size_t k = 0; k < arrivals.size(); ++k) {
      JobRow row;
      std::snprintf(suffix, sizeof suffix, "-%05zu", k + 1);
      row.name = *name + suffix;
      row.submit_s = arrivals[k];
      double u = double(engine() >> 11) * 0x1.0p-53 * total_weight;
      std::size_t pick = 0;
      while (pick + 1 < sizes.size() && u >= weights[pick]) u -= weights[pick++];
      row.gpus = sizes[pick];
      row.duration_s = duration.fixed() ? duration.mean : double(seconds[k]);
      row.tenant = tenant.value_or("");
      if (priority) row.priority = *priority;
      row.where = s.location();
      rows.push_back(std::move(row));
    }
    expand(rows, s, "streams." + std::to_string(i), catalog, add);
  }
}

}  // namespace fleetsim
