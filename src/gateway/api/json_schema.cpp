#include "gateway/api/json_schema.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <cmath>

#include "core/strings.h"

namespace causeway::gateway::api {
namespace json = boost::json;

namespace {

enum TypeBit : uint8_t {
  kNull = 1,
  kBoolean = 2,
  kObject = 4,
  kArray = 8,
  kNumber = 16,
  kInteger = 32,
  kString = 64
};
enum class Format : uint8_t { None, DateTime, Date, Time, Email, Uuid, Ipv4, Ipv6, Int32, Int64 };
constexpr int kMaxDepth = 64;

uint8_t typeBit(std::string_view name) {
  if (name == "null") return kNull;
  if (name == "boolean") return kBoolean;
  if (name == "object") return kObject;
  if (name == "array") return kArray;
  if (name == "number") return kNumber;
  if (name == "integer") return kInteger;
  if (name == "string") return kString;
  return 0;
}

const char* typeName(const json::value& v) {
  switch (v.kind()) {
  case json::kind::null:
    return "null";
  case json::kind::bool_:
    return "boolean";
  case json::kind::object:
    return "object";
  case json::kind::array:
    return "array";
  case json::kind::string:
    return "string";
  default:
    return "number";
  }
}

bool isIntegral(const json::value& v) {
  if (v.is_int64() || v.is_uint64()) return true;
  return v.is_double() && std::isfinite(v.get_double()) &&
         v.get_double() == std::floor(v.get_double());
}

std::optional<double> numberOf(const json::value* v) {
  if (!v || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

std::optional<uint64_t> countOf(const json::value* v) {
  if (!v || !v->is_number()) return std::nullopt;
  double d = v->to_number<double>();
  if (d < 0) return std::nullopt;
  return static_cast<uint64_t>(d);
}

size_t codePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

bool digits(std::string_view s, size_t from, size_t count) {
  if (from + count > s.size()) return false;
  for (size_t i = from; i < from + count; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

bool validDate(std::string_view s) {
  return s.size() == 10 && digits(s, 0, 4) && s[4] == '-' && digits(s, 5, 2) && s[7] == '-' &&
         digits(s, 8, 2) && s.substr(5, 2) >= "01" && s.substr(5, 2) <= "12" &&
         s.substr(8, 2) >= "01" && s.substr(8, 2) <= "31";
}

// hh:mm:ss[.frac](Z|±hh:mm)
bool validTime(std::string_view s) {
  if (s.size() < 9 || !digits(s, 0, 2) || s[2] != ':' || !digits(s, 3, 2) || s[5] != ':' ||
      !digits(s, 6, 2))
    return false;
  size_t i = 8;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
      ++i;
    if (i == start) return false;
  }
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) return i + 1 == s.size();
  return i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && digits(s, i + 1, 2) &&
         s[i + 3] == ':' && digits(s, i + 4, 2);
}

bool validFormat(Format f, const json::value& v) {
  if (f == Format::Int32 || f == Format::Int64) {
    if (!v.is_number()) return true;
    if (!isIntegral(v)) return false;
    double d = v.to_number<double>();
    return f == Format::Int32 ? d >= -2147483648.0 && d <= 2147483647.0
                              : d >= -9223372036854775808.0 && d < 9223372036854775808.0;
  }
  if (!v.is_string()) return true;
  std::string_view s = v.get_string();
  switch (f) {
  case Format::Date:
    return validDate(s);
  case Format::Time:
    return validTime(s);
  case Format::DateTime: {
    size_t t = s.find_first_of("Tt ");
    return t == 10 && validDate(s.substr(0, 10)) && validTime(s.substr(11));
  }
  case Format::Email: {
    size_t at = s.find('@');
    return at != std::string_view::npos && at > 0 && at + 1 < s.size() &&
           s.find('@', at + 1) == std::string_view::npos && s.find(' ') == std::string_view::npos;
  }
  case Format::Uuid: {
    if (s.size() != 36) return false;
    for (size_t i = 0; i < 36; ++i) {
      bool dash = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
  }
  case Format::Ipv4:
  case Format::Ipv6: {
    std::string text(s);
    unsigned char buf[16];
    return inet_pton(f == Format::Ipv4 ? AF_INET : AF_INET6, text.c_str(), buf) == 1;
  }
  default:
    return true;
  }
}

Format formatOf(std::string_view name) {
  if (name == "date-time") return Format::DateTime;
  if (name == "date") return Format::Date;
  if (name == "time") return Format::Time;
  if (name == "email") return Format::Email;
  if (name == "uuid") return Format::Uuid;
  if (name == "ipv4") return Format::Ipv4;
  if (name == "ipv6") return Format::Ipv6;
  if (name == "int32") return Format::Int32;
  if (name == "int64") return Format::Int64;
  return Format::None;
}

// A local JSON pointer ("#/components/schemas/Pet") into `document`; null when it points nowhere.
const json::value* resolvePointer(const json::value& document, std::string_view ref) {
  if (!ref.starts_with("#")) return nullptr;
  ref.remove_prefix(1);
  const json::value* at = &document;
  while (!ref.empty()) {
    if (ref.front() != '/') return nullptr;
    ref.remove_prefix(1);
    size_t slash = ref.find('/');
    std::string token(ref.substr(0, slash));
    ref = slash == std::string_view::npos ? std::string_view() : ref.substr(slash);
    std::string unescaped;
    for (size_t i = 0; i < token.size(); ++i) {
      if (token[i] == '~' && i + 1 < token.size()) {
        unescaped += token[i + 1] == '1' ? '/' : '~';
        ++i;
      } else if (token[i] == '%' && i + 2 < token.size() &&
                 std::isxdigit(static_cast<unsigned char>(token[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(token[i + 2]))) {
        unescaped += static_cast<char>(std::stoi(token.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        unescaped += token[i];
      }
    }
    if (at->is_object()) {
      at = at->get_object().if_contains(unescaped);
    } else if (at->is_array()) {
      auto index = parseDecimal(unescaped);
      at = index && *index < at->get_array().size() ? &at->get_array()[*index] : nullptr;
    } else {
      return nullptr;
    }
    if (!at) return nullptr;
  }
  return at;
}

}  // namespace

struct SchemaSet::Node {
  bool never = false;  // the schema `false`
  uint8_t types = 0;   // 0: any
  std::optional<std::vector<json::value>> enumValues;
  std::optional<json::value> constValue;
  std::vector<std::pair<std::string, int>> properties;
  std::vector<std::string> required;
  bool additionalAllowed = true;
  int additional = -1;
  std::optional<uint64_t> minProperties, maxProperties;
  int items = -1;
  std::optional<uint64_t> minItems, maxItems;
  bool uniqueItems = false;
  std::optional<double> minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf;
  std::optional<uint64_t> minLength, maxLength;
  std::unique_ptr<re2::RE2> pattern;
  std::string patternText;
  Format format = Format::None;
  std::vector<int> allOf, anyOf, oneOf;
  int notSchema = -1;
  int ref = -1;
};

SchemaSet::SchemaSet() = default;
SchemaSet::~SchemaSet() = default;
SchemaSet::SchemaSet(SchemaSet&&) noexcept = default;
SchemaSet& SchemaSet::operator=(SchemaSet&&) noexcept = default;

int SchemaSet::compile(const json::value& document, const json::value& schema, std::string& error) {
  return compileNode(document, schema, error, 0);
}

int SchemaSet::compileNode(const json::value& document, const json::value& schema,
                           std::string& error, int depth) {
  for (const auto& [at, id] : compiled_)
    if (at == &schema) return id;
  if (depth > kMaxDepth) {
    error = "schema nested too deeply";
    return -1;
  }
  int id = static_cast<int>(nodes_.size());
  nodes_.push_back(std::make_unique<Node>());
  compiled_.emplace_back(&schema, id);
  auto node = [this, id]() -> Node& { return *nodes_[static_cast<size_t>(id)]; };
  if (schema.is_bool()) {
    node().never = !schema.get_bool();
    return id;
  }
  if (!schema.is_object()) return id;  // not a schema: accepts anything
  const json::object& o = schema.get_object();
  auto sub = [&](const json::value& s) { return compileNode(document, s, error, depth + 1); };

  if (const json::value* ref = o.if_contains("$ref"); ref && ref->is_string()) {
    const json::value* target = resolvePointer(document, ref->get_string());
    if (!target) {
      error = "$ref " + std::string(ref->get_string()) + " does not point into this document";
      return -1;
    }
    int r = sub(*target);
    if (r < 0) return -1;
    node().ref = r;
  }
  if (const json::value* t = o.if_contains("type")) {
    if (t->is_string()) node().types = typeBit(t->get_string());
    if (t->is_array())
      for (const json::value& e : t->get_array())
        if (e.is_string()) node().types |= typeBit(e.get_string());
  }
  if (const json::value* n = o.if_contains("nullable");
      n && n->is_bool() && n->get_bool() && node().types)
    node().types |= kNull;
  if (node().types & kNumber) node().types |= kInteger;
  if (const json::value* e = o.if_contains("enum"); e && e->is_array())
    node().enumValues = std::vector<json::value>(e->get_array().begin(), e->get_array().end());
  if (const json::value* c = o.if_contains("const")) node().constValue = *c;
  if (const json::value* p = o.if_contains("properties"); p && p->is_object())
    for (const auto& [name, s] : p->get_object()) {
      int child = sub(s);
      if (child < 0) return -1;
      node().properties.emplace_back(std::string(name), child);
    }
  if (const json::value* r = o.if_contains("required"); r && r->is_array())
    for (const json::value& name : r->get_array())
      if (name.is_string()) node().required.emplace_back(name.get_string());
  if (const json::value* a = o.if_contains("additionalProperties")) {
    if (a->is_bool()) {
      node().additionalAllowed = a->get_bool();
    } else if (a->is_object()) {
      int child = sub(*a);
      if (child < 0) return -1;
      node().additional = child;
    }
  }
  node().minProperties = countOf(o.if_contains("minProperties"));
  node().maxProperties = countOf(o.if_contains("maxProperties"));
  if (const json::value* items = o.if_contains("items");
      items && (items->is_object() || items->is_bool())) {
    int child = sub(*items);
    if (child < 0) return -1;
    node().items = child;
  }
  node().minItems = countOf(o.if_contains("minItems"));
  node().maxItems = countOf(o.if_contains("maxItems"));
  if (const json::value* u = o.if_contains("uniqueItems"); u && u->is_bool())
    node().uniqueItems = u->get_bool();
  node().minimum = numberOf(o.if_contains("minimum"));
  node().maximum = numberOf(o.if_contains("maximum"));
  // 3.0: exclusiveMinimum is a boolean about minimum; 3.1: a number of its own.
  if (const json::value* x = o.if_contains("exclusiveMinimum")) {
    if (x->is_bool() && x->get_bool())
      node().exclusiveMinimum = node().minimum, node().minimum.reset();
    else if (x->is_number())
      node().exclusiveMinimum = x->to_number<double>();
  }
  if (const json::value* x = o.if_contains("exclusiveMaximum")) {
    if (x->is_bool() && x->get_bool())
      node().exclusiveMaximum = node().maximum, node().maximum.reset();
    else if (x->is_number())
      node().exclusiveMaximum = x->to_number<double>();
  }
  node().multipleOf = numberOf(o.if_contains("multipleOf"));
  if (node().multipleOf && *node().multipleOf <= 0) node().multipleOf.reset();
  node().minLength = countOf(o.if_contains("minLength"));
  node().maxLength = countOf(o.if_contains("maxLength"));
  if (const json::value* p = o.if_contains("pattern"); p && p->is_string()) {
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_unique<re2::RE2>(std::string(p->get_string()), options);
    if (!re->ok()) {
      error = "pattern " + std::string(p->get_string()) + " does not compile: " + re->error();
      return -1;
    }
    node().pattern = std::move(re);
    node().patternText = p->get_string();
  }
  if (const json::value* f = o.if_contains("format"); f && f->is_string())
    node().format = formatOf(f->get_string());
  for (auto [key, list] : {std::pair{"allOf", &Node::allOf}, std::pair{"anyOf", &Node::anyOf},
                           std::pair{"oneOf", &Node::oneOf}}) {
    const json::value* l = o.if_contains(key);
    if (!l || !l->is_array()) continue;
    for (const json::value& s : l->get_array()) {
      int child = sub(s);
      if (child < 0) return -1;
      (node().*list).push_back(child);
    }
  }
  if (const json::value* n = o.if_contains("not")) {
    int child = sub(*n);
    if (child < 0) return -1;
    node().notSchema = child;
  }
  return id;
}

std::optional<SchemaFailure> SchemaSet::check(int id, const json::value& value,
                                              std::string_view root) const {
  if (id < 0) return std::nullopt;
  std::string path(root);
  SchemaFailure failure;
  if (validate(id, value, path, failure, 0)) return std::nullopt;
  return failure;
}

bool SchemaSet::validate(int id, const json::value& v, std::string& path, SchemaFailure& failure,
                         int depth) const {
  const Node& n = *nodes_[static_cast<size_t>(id)];
  auto fail = [&](std::string reason) {
    failure.path = path;
    failure.reason = std::move(reason);
    return false;
  };
  if (depth > 2 * kMaxDepth) return fail("value nested too deeply");
  if (n.never) return fail("no value is allowed here");
  if (n.ref >= 0 && !validate(n.ref, v, path, failure, depth + 1)) return false;
  if (n.types) {
    uint8_t bit = v.is_null()     ? kNull
                  : v.is_bool()   ? kBoolean
                  : v.is_object() ? kObject
                  : v.is_array()  ? kArray
                  : v.is_string() ? kString
                                  : (isIntegral(v) ? kInteger : kNumber);
    bool ok = (n.types & bit) || (bit == kInteger && (n.types & kNumber));
    if (!ok) {
      std::string expected;
      for (auto [b, name] :
           {std::pair{kString, "string"}, std::pair{kInteger, "integer"},
            std::pair{kNumber, "number"}, std::pair{kBoolean, "boolean"},
            std::pair{kObject, "object"}, std::pair{kArray, "array"}, std::pair{kNull, "null"}}) {
        if (!(n.types & b) || (b == kInteger && (n.types & kNumber))) continue;
        if (!expected.empty()) expected += " or ";
        expected += name;
      }
      return fail("expected " + expected + ", got " +
                  (bit == kNumber && (n.types & kInteger) ? "a fraction" : typeName(v)));
    }
  }
  if (n.enumValues &&
      std::find(n.enumValues->begin(), n.enumValues->end(), v) == n.enumValues->end())
    return fail("not one of the allowed values");
  if (n.constValue && *n.constValue != v) return fail("not the required value");

  if (v.is_object()) {
    const json::object& o = v.get_object();
    for (const std::string& name : n.required)
      if (!o.contains(name)) return fail("missing required property \"" + name + "\"");
    if (n.minProperties && o.size() < *n.minProperties)
      return fail("fewer than " + std::to_string(*n.minProperties) + " properties");
    if (n.maxProperties && o.size() > *n.maxProperties)
      return fail("more than " + std::to_string(*n.maxProperties) + " properties");
    for (const auto& [name, child] : o) {
      int schema = -1;
      for (const auto& [pname, pid] : n.properties)
        if (pname == std::string_view(name)) {
          schema = pid;
          break;
        }
      size_t mark = path.size();
      path += '.';
      path += name;
      if (schema < 0) {
        if (!n.additionalAllowed) return fail("property not allowed");
        schema = n.additional;
      }
      if (schema >= 0 && !validate(schema, child, path, failure, depth + 1)) return false;
      path.resize(mark);
    }
  } else if (v.is_array()) {
    const json::array& a = v.get_array();
    if (n.minItems && a.size() < *n.minItems)
      return fail("fewer than " + std::to_string(*n.minItems) + " items");
    if (n.maxItems && a.size() > *n.maxItems)
      return fail("more than " + std::to_string(*n.maxItems) + " items");
    if (n.uniqueItems)
      for (size_t i = 0; i < a.size(); ++i)
        for (size_t j = i + 1; j < a.size(); ++j)
          if (a[i] == a[j]) return fail("items are not unique");
    if (n.items >= 0)
      for (size_t i = 0; i < a.size(); ++i) {
        size_t mark = path.size();
        path += '[';
        path += std::to_string(i);
        path += ']';
        if (!validate(n.items, a[i], path, failure, depth + 1)) return false;
        path.resize(mark);
      }
  } else if (v.is_number()) {
    double d = v.to_number<double>();
    auto text = [](double x) {
      std::string s = std::to_string(x);
      s.erase(s.find_last_not_of('0') + 1);
      if (!s.empty() && s.back() == '.') s.pop_back();
      return s;
    };
    if (n.minimum && d < *n.minimum) return fail("less than the minimum " + text(*n.minimum));
    if (n.maximum && d > *n.maximum) return fail("more than the maximum " + text(*n.maximum));
    if (n.exclusiveMinimum && d <= *n.exclusiveMinimum)
      return fail("not more than " + text(*n.exclusiveMinimum));
    if (n.exclusiveMaximum && d >= *n.exclusiveMaximum)
      return fail("not less than " + text(*n.exclusiveMaximum));
    if (n.multipleOf) {
      double q = d / *n.multipleOf;
      if (std::fabs(q - std::round(q)) > 1e-9)
        return fail("not a multiple of " + text(*n.multipleOf));
    }
  } else if (v.is_string()) {
    std::string_view s = v.get_string();
    if (n.minLength || n.maxLength) {
      size_t length = codePoints(s);
      if (n.minLength && length < *n.minLength)
        return fail("shorter than " + std::to_string(*n.minLength) + " characters");
      if (n.maxLength && length > *n.maxLength)
        return fail("longer than " + std::to_string(*n.maxLength) + " characters");
    }
    if (n.pattern && !RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *n.pattern))
      return fail("does not match the pattern " + n.patternText);
  }
  if (n.format != Format::None && !validFormat(n.format, v))
    return fail("not a valid value of its format");

  for (int child : n.allOf)
    if (!validate(child, v, path, failure, depth + 1)) return false;
  if (!n.anyOf.empty()) {
    SchemaFailure ignored;
    bool any = false;
    for (int child : n.anyOf) {
      std::string p = path;
      if (validate(child, v, p, ignored, depth + 1)) {
        any = true;
        break;
      }
    }
    if (!any) return fail("matches none of the anyOf schemas");
  }
  if (!n.oneOf.empty()) {
    SchemaFailure ignored;
    int matches = 0;
    for (int child : n.oneOf) {
      std::string p = path;
      matches += validate(child, v, p, ignored, depth + 1);
    }
    if (matches != 1)
      return fail(matches == 0 ? "matches none of the oneOf schemas"
                               : "matches more than one oneOf schema");
  }
  if (n.notSchema >= 0) {
    SchemaFailure ignored;
    std::string p = path;
    if (validate(n.notSchema, v, p, ignored, depth + 1))
      return fail("matches a schema it must not");
  }
  return true;
}

}  // namespace causeway::gateway::api
