#include "dkd/config/config.h"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "dkd/util/error.h"
#include "dkd/util/runtime.h"

namespace fs = std::filesystem;

namespace dkd {

void note_deprecated_name(const std::string& key, const std::string& old_name, const std::string& name) {
  spdlog::warn("{}: '{}' is an earlier name of '{}'; it is still read, but use '{}'", key, old_name, name, name);
}

namespace {

/// Where each leaf key got its value: a file path or "--set k=v".
using Origins = std::map<std::string, std::string>;

std::string origin_suffix(const Origins& origins, const std::string& key) {
  // A list element ("train.stages[1]") comes from where its list came from.
  const std::size_t bracket = key.find('[');
  if (bracket != std::string::npos) return origin_suffix(origins, key.substr(0, bracket));
  auto it = origins.find(key);
  if (it == origins.end()) {
    // A section or an unknown subtree: use the first leaf below it.
    it = origins.lower_bound(key + ".");
    if (it == origins.end() || it->first.rfind(key + ".", 0) != 0) return "";
  }
  if (it->second.rfind("--set", 0) == 0) return " (from " + it->second + ")";
  return " (in " + it->second + ")";
}

// ---------------------------------------------------------------- reading

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

class Reader {
 public:
  Reader(YAML::Node node, std::string prefix, const Origins& origins)
      : node_(std::move(node)), prefix_(std::move(prefix)), origins_(origins) {}

  template <class T>
  void field(const char* name, T& value, const char* /*help*/, const Check& check) {
    seen_.insert(name);
    const std::string key = prefix_ + name;
    const YAML::Node n = std::as_const(node_)[name];
    if (!n.IsDefined()) return;  // keep the default
    read(n, value, key, check);
  }

  template <class S>
  void section(const char* name, S& sub, const char* /*help*/) {
    seen_.insert(name);
    const std::string key = prefix_ + name;
    const YAML::Node n = std::as_const(node_)[name];
    if (!n.IsDefined() || n.IsNull()) return;
    if (!n.IsMap())
      throw ConfigError(key + ": expected a mapping of settings, got '" + scalar_text(n) + "'" +
                        origin_suffix(origins_, key));
    Reader r(n, key + ".", origins_);
    sub.visit(r);
    r.check_unknown_keys();
  }

  void check_unknown_keys() const {
    for (const auto& kv : node_) {
      const std::string name = kv.first.as<std::string>();
      if (seen_.count(name)) continue;
      const std::string key = prefix_ + name;
      std::string message = key + ": unknown key" + origin_suffix(origins_, key);
      const std::string suggestion = suggest_key(key);
      if (!suggestion.empty()) message += "; did you mean " + suggestion + "?";
      throw ConfigError(message);
    }
  }

 private:
  static std::string scalar_text(const YAML::Node& n) {
    if (n.IsScalar()) return n.Scalar();
    if (n.IsNull()) return "null";
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a mapping";
    return "?";
  }

  [[noreturn]] void type_error(const YAML::Node& n, const std::string& key, const std::string& what) const {
    throw ConfigError(key + ": expected " + what + ", got '" + scalar_text(n) + "'" + origin_suffix(origins_, key));
  }

  void check_number(double v, const std::string& key, const Check& c, const char* type,
                    const std::string& given) const {
    bool ok = true;
    if (c.min) ok = ok && (c.min_exclusive ? v > *c.min : v >= *c.min);
    if (c.max) ok = ok && v <= *c.max;
    if (!c.allowed.empty()) ok = ok && std::find(c.allowed.begin(), c.allowed.end(), v) != c.allowed.end();
    if (!ok)
      throw ConfigError(key + ": expected " + describe_check(c, type) + ", got " + given +
                        origin_suffix(origins_, key));
  }

  void read(const YAML::Node& n, bool& v, const std::string& key, const Check&) const {
    if (!n.IsScalar()) type_error(n, key, "true or false");
    const std::string s = lower(n.Scalar());
    if (s == "true" || s == "yes" || s == "on") {
      v = true;
    } else if (s == "false" || s == "no" || s == "off") {
      v = false;
    } else {
      type_error(n, key, "true or false");
    }
  }

  void read(const YAML::Node& n, int64_t& v, const std::string& key, const Check& c) const {
    if (!n.IsScalar()) type_error(n, key, describe_check(c, "an integer"));
    const std::string& s = n.Scalar();
    errno = 0;
    char* end = nullptr;
    const long long parsed = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE) type_error(n, key, describe_check(c, "an integer"));
    v = parsed;
    check_number(static_cast<double>(v), key, c, "an integer", s);
  }

  void read(const YAML::Node& n, int& v, const std::string& key, const Check& c) const {
    int64_t wide = 0;
    read(n, wide, key, c);
    if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max())
      type_error(n, key, describe_check(c, "an integer"));
    v = static_cast<int>(wide);
  }

  void read(const YAML::Node& n, double& v, const std::string& key, const Check& c) const {
    if (!n.IsScalar()) type_error(n, key, describe_check(c, "a number"));
    const std::string& s = n.Scalar();
    char* end = nullptr;
    const double parsed = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !std::isfinite(parsed)) type_error(n, key, describe_check(c, "a number"));
    v = parsed;
    check_number(v, key, c, "a number", s);
  }

  void read(const YAML::Node& n, std::string& v, const std::string& key, const Check& c) const {
    if (n.IsNull()) {
      v.clear();
    } else if (n.IsScalar()) {
      v = n.Scalar();
    } else {
      type_error(n, key, c.choices.empty() ? "a string" : describe_check(c, "a string"));
    }
    if (!c.choices.empty() && std::find(c.choices.begin(), c.choices.end(), v) == c.choices.end())
      throw ConfigError(key + ": expected " + describe_check(c, "a string") + ", got '" + v + "'" +
                        origin_suffix(origins_, key));
  }

  template <class E, class = std::enable_if_t<is_named_enum<E>::value>>
  void read(const YAML::Node& n, E& v, const std::string& key, const Check&) const {
    if (!n.IsScalar()) type_error(n, key, "one of " + kind_names_text<E>());
    try {
      v = parse_kind<E>(n.Scalar(), key);
    } catch (const ConfigError& e) {
      throw ConfigError(e.what() + origin_suffix(origins_, key));
    }
  }

  template <class T>
  void read(const YAML::Node& n, std::vector<T>& v, const std::string& key, const Check& c) const {
    if (!n.IsSequence()) {
      std::string what = "a list";
      if (c.length) what = "a list of " + std::to_string(*c.length) + " values";
      type_error(n, key, what);
    }
    if (c.length && n.size() != *c.length)
      throw ConfigError(key + ": expected a list of " + std::to_string(*c.length) + " values, got " +
                        std::to_string(n.size()) + origin_suffix(origins_, key));
    std::vector<T> out(n.size());
    Check element = c;
    element.length.reset();
    for (std::size_t i = 0; i < n.size(); ++i) read(n[i], out[i], key + "[" + std::to_string(i) + "]", element);
    v = std::move(out);
  }

  template <class T>
  void read(const YAML::Node& n, std::optional<T>& v, const std::string& key, const Check& c) const {
    if (n.IsNull()) {
      v.reset();
      return;
    }
    T inner{};
    read(n, inner, key, c);
    v = inner;
  }

  YAML::Node node_;
  std::string prefix_;
  const Origins& origins_;
  std::set<std::string> seen_;
};

// ---------------------------------------------------------------- writing

class Writer {
 public:
  Writer(YAML::Emitter& out, bool comments) : out_(out), comments_(comments) {}

  template <class T>
  void field(const char* name, T& value, const char* help, const Check&) {
    out_ << YAML::Key << name << YAML::Value;
    write(value);
    if (comments_) out_ << YAML::Comment(help);
  }

  template <class S>
  void section(const char* name, S& sub, const char* help) {
    out_ << YAML::Key << name;
    if (comments_) out_ << YAML::Comment(help);
    out_ << YAML::Value << YAML::BeginMap;
    sub.visit(*this);
    out_ << YAML::EndMap;
  }

 private:
  void write(bool v) { out_ << (v ? "true" : "false"); }
  void write(int v) { out_ << v; }
  void write(int64_t v) { out_ << v; }
  void write(double v) { out_ << yaml_number_text(v); }
  void write(const std::string& v) {
    if (v.empty()) {
      out_ << YAML::DoubleQuoted << "";
    } else {
      out_ << v;
    }
  }
  template <class E, class = std::enable_if_t<is_named_enum<E>::value>>
  void write(E v) {
    out_ << name_of(v);
  }
  template <class T>
  void write(const std::vector<T>& v) {
    out_ << YAML::Flow << YAML::BeginSeq;
    for (const auto& x : v) write(x);
    out_ << YAML::EndSeq;
  }
  template <class T>
  void write(const std::optional<T>& v) {
    if (v) {
      write(*v);
    } else {
      out_ << YAML::Null;
    }
  }

  YAML::Emitter& out_;
  bool comments_;
};

// ---------------------------------------------------------------- YAML files

void record_origins(const YAML::Node& node, const std::string& prefix, const std::string& origin, Origins& origins) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      const std::string name = kv.first.as<std::string>();
      record_origins(kv.second, prefix.empty() ? name : prefix + "." + name, origin, origins);
    }
  } else if (!prefix.empty()) {
    // A leaf (or a list) replaces whatever an earlier file said below this key.
    for (auto it = origins.lower_bound(prefix + "."); it != origins.end() && it->first.rfind(prefix + ".", 0) == 0;)
      it = origins.erase(it);
    origins[prefix] = origin;
  }
}

/// Deep-merges `src` over `dst`: maps merge key by key, everything else replaces.
void merge_into(YAML::Node dst, const YAML::Node& src) {
  for (const auto& kv : src) {
    const std::string name = kv.first.as<std::string>();
    YAML::Node existing = dst[name];
    if (existing.IsDefined() && existing.IsMap() && kv.second.IsMap()) {
      merge_into(existing, kv.second);
    } else {
      dst[name] = YAML::Clone(kv.second);
    }
  }
}

YAML::Node parse_yaml(const std::string& text, const std::string& origin) {
  try {
    YAML::Node root = YAML::Load(text);
    if (root.IsNull()) return YAML::Node(YAML::NodeType::Map);
    if (!root.IsMap())
      throw ConfigError(origin + ": a config must be a mapping of sections (runtime, data, model, ...)");
    return root;
  } catch (const YAML::ParserException& e) {
    throw ConfigError(origin + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                      ": YAML syntax error: " + e.msg);
  }
}

std::string read_config_text(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw ConfigError("config file not found: " + path);
  if (fs::is_directory(path, ec)) throw ConfigError("config path is a directory, not a file: " + path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot read config file: " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

YAML::Node load_with_bases(const std::string& path, Origins& origins, std::vector<std::string>& chain);

/// Resolves `_base_` of an already parsed document found at `origin` (a file
/// path, or a label for text whose bases are relative to `dir`).
YAML::Node resolve_bases(YAML::Node root, const std::string& origin, const fs::path& dir, Origins& origins,
                         std::vector<std::string>& chain) {
  YAML::Node merged(YAML::NodeType::Map);
  if (root["_base_"].IsDefined()) {
    const YAML::Node bases = root["_base_"];
    std::vector<std::string> base_paths;
    if (bases.IsScalar()) {
      base_paths.push_back(bases.Scalar());
    } else if (bases.IsSequence()) {
      for (const auto& b : bases) {
        if (!b.IsScalar()) throw ConfigError(origin + ": _base_: expected a file name or a list of file names");
        base_paths.push_back(b.Scalar());
      }
    } else {
      throw ConfigError(origin + ": _base_: expected a file name or a list of file names");
    }
    for (const std::string& base : base_paths) {
      const fs::path resolved = fs::path(base).is_absolute() ? fs::path(base) : dir / base;
      std::error_code ec;
      if (!fs::exists(resolved, ec))
        throw ConfigError(origin + ": _base_: file not found: " + resolved.lexically_normal().string());
      merge_into(merged, load_with_bases(resolved.lexically_normal().string(), origins, chain));
    }
    root.remove("_base_");
  }
  record_origins(root, "", origin, origins);
  merge_into(merged, root);
  return merged;
}

YAML::Node load_with_bases(const std::string& path, Origins& origins, std::vector<std::string>& chain) {
  std::error_code ec;
  const std::string canonical = fs::weakly_canonical(path, ec).string();
  if (std::find(chain.begin(), chain.end(), canonical) != chain.end()) {
    std::string cycle;
    for (const auto& c : chain) cycle += c + " -> ";
    throw ConfigError("_base_ cycle: " + cycle + canonical);
  }
  chain.push_back(canonical);
  YAML::Node root = parse_yaml(read_config_text(path), path);
  YAML::Node result = resolve_bases(root, path, fs::path(path).parent_path(), origins, chain);
  chain.pop_back();
  return result;
}

void apply_override(YAML::Node root, const std::string& text, Origins& origins) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) throw ConfigError("--set expects key.path=value, got '" + text + "'");
  const std::string key = text.substr(0, eq);
  const std::string value_text = text.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(value_text);
  } catch (const YAML::Exception&) {
    value = YAML::Node(value_text);  // not YAML: take the text as it is
  }
  std::vector<std::string> parts;
  std::stringstream ss(key);
  for (std::string part; std::getline(ss, part, '.');) {
    if (part.empty()) throw ConfigError("--set " + text + ": empty component in key '" + key + "'");
    parts.push_back(part);
  }
  YAML::Node cur;
  cur.reset(root);
  std::string walked;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    walked += (i ? "." : "") + parts[i];
    YAML::Node child = cur[parts[i]];
    if (!child.IsDefined() || child.IsNull()) {
      cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
    } else if (!child.IsMap()) {
      throw ConfigError("--set " + text + ": " + walked + " is a value, not a section");
    }
    YAML::Node next = cur[parts[i]];
    cur.reset(next);
  }
  cur[parts.back()] = value;
  YAML::Node leaf;
  leaf.reset(value);
  record_origins(leaf, key, "--set " + text, origins);
}

Config build(const YAML::Node& root, const Origins& origins, const std::string& source) {
  Config config;
  Reader reader(root, "", origins);
  config.visit(reader);
  reader.check_unknown_keys();
  validate_config(config);
  config.source_path = source;
  return config;
}

}  // namespace

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  Origins origins;
  std::vector<std::string> chain;
  YAML::Node root = load_with_bases(path, origins, chain);
  for (const auto& o : overrides) apply_override(root, o, origins);
  return build(root, origins, path);
}

Config load_config_from_string(const std::string& yaml, const std::vector<std::string>& overrides,
                               const std::string& origin) {
  Origins origins;
  std::vector<std::string> chain;
  YAML::Node root = resolve_bases(parse_yaml(yaml, origin), origin, fs::current_path(), origins, chain);
  for (const auto& o : overrides) apply_override(root, o, origins);
  return build(root, origins, "");
}

Config apply_overrides(const Config& config, const std::vector<std::string>& overrides) {
  if (overrides.empty()) return config;
  Origins origins;
  YAML::Node root = parse_yaml(dump_config(config, false), "<resolved config>");
  for (const auto& o : overrides) apply_override(root, o, origins);
  return build(root, origins, config.source_path);
}

std::string dump_config(const Config& config, bool with_comments) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  Config copy = config;
  Writer writer(out, with_comments);
  copy.visit(writer);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

void save_config(const Config& config, const std::string& path) {
  std::string text;
  if (!config.source_path.empty()) text += "# resolved from " + config.source_path + "\n";
  write_file_atomic(path, text + dump_config(config, true));
}

bool operator==(const Config& a, const Config& b) { return dump_config(a, false) == dump_config(b, false); }

}  // namespace dkd
