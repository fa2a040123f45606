#include "gateway/api/openapi.h"

#include <yaml-cpp/yaml.h>

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <cmath>

#include "core/strings.h"
#include "http/uri.h"

namespace causeway::gateway::api {
namespace json = boost::json;
namespace {

constexpr const char* kMethods[] = {"get",     "put",  "post",  "delete",
                                    "options", "head", "patch", "trace"};

// A bound on the values a YAML document may expand to: aliases (*a) repeat what their anchor
// holds, so a few kilobytes of nested aliases could otherwise grow into gigabytes.
constexpr size_t kMaxYamlValues = 1'000'000;

json::value fromYaml(const YAML::Node& n, int depth, size_t& values) {
  if (depth > 256) throw std::runtime_error("nested too deeply");
  if (++values > kMaxYamlValues) throw std::runtime_error("more than 1,000,000 values (aliases expanded)");
  switch (n.Type()) {
  case YAML::NodeType::Map: {
    json::object o;
    for (const auto& kv : n)
      o[kv.first.as<std::string>()] = fromYaml(kv.second, depth + 1, values);
    return o;
  }
  case YAML::NodeType::Sequence: {
    json::array a;
    for (const auto& e : n)
      a.push_back(fromYaml(e, depth + 1, values));
    return a;
  }
  case YAML::NodeType::Scalar: {
    const std::string& s = n.Scalar();
    if (n.Tag() == "!") return json::value(s);  // quoted: a string
    if (s == "null" || s == "Null" || s == "NULL" || s == "~") return nullptr;
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    if (!s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) ||
                       ((s[0] == '-' || s[0] == '+') && s.size() > 1))) {
      char* end = nullptr;
      errno = 0;
      long long i = std::strtoll(s.c_str(), &end, 10);
      if (*end == '\0' && errno == 0) return json::value(static_cast<int64_t>(i));
      double d = std::strtod(s.c_str(), &end);
      if (*end == '\0' && std::isfinite(d)) return json::value(d);
    }
    return json::value(s);
  }
  default:
    return nullptr;
  }
}

std::string lower(std::string_view s) {
  return toLower(s);
}

const json::object* objectAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

std::string_view stringAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

// Follows `$ref` (local) until a non-reference; null when it dangles.
const json::value* deref(const json::value& document, const json::value* v) {
  for (int hops = 0; v && v->is_object() && hops < 32; ++hops) {
    std::string_view ref = stringAt(v->get_object(), "$ref");
    if (ref.empty()) return v;
    if (!ref.starts_with("#/")) return nullptr;
    const json::value* at = &document;
    for (std::string_view rest = ref.substr(2); at;) {
      size_t slash = rest.find('/');
      std::string token(rest.substr(0, slash));
      for (size_t p; (p = token.find("~1")) != std::string::npos;)
        token.replace(p, 2, "/");
      for (size_t p; (p = token.find("~0")) != std::string::npos;)
        token.replace(p, 2, "~");
      at = at->is_object() ? at->get_object().if_contains(token) : nullptr;
      if (slash == std::string_view::npos) break;
      rest = rest.substr(slash + 1);
    }
    v = at;
  }
  return v;
}

// The path part of a server URL ("https://api.example.com/v1" → "/v1"), variables replaced by
// their defaults; "" for the root.
std::string basePathOf(std::string_view url, const json::object* variables) {
  std::string text(url);
  for (size_t open; (open = text.find('{')) != std::string::npos;) {
    size_t close = text.find('}', open);
    if (close == std::string::npos) break;
    std::string name = text.substr(open + 1, close - open - 1);
    std::string value;
    if (variables)
      if (const json::object* var = objectAt(*variables, name))
        value = std::string(stringAt(*var, "default"));
    text.replace(open, close - open + 1, value);
  }
  std::string path = text;
  if (size_t scheme = text.find("://"); scheme != std::string::npos) {
    size_t slash = text.find('/', scheme + 3);
    path = slash == std::string::npos ? std::string() : text.substr(slash);
  }
  if (size_t q = path.find_first_of("?#"); q != std::string::npos) path.resize(q);
  while (!path.empty() && path.back() == '/')
    path.pop_back();
  if (!path.empty() && path.front() != '/') path.insert(path.begin(), '/');
  return path;
}

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  if (!path.empty() && path[0] == '/') i = 1;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    out.emplace_back(
        path.substr(i, slash == std::string_view::npos ? std::string_view::npos : slash - i));
    if (slash == std::string_view::npos) break;
    i = slash + 1;
  }
  return out;
}

std::string schemaType(const json::value& document, const json::value* schema) {
  schema = deref(document, schema);
  if (!schema || !schema->is_object()) return {};
  const json::value* t = schema->get_object().if_contains("type");
  if (t && t->is_string()) return std::string(t->get_string());
  if (t && t->is_array())
    for (const json::value& e : t->get_array())
      if (e.is_string() && e.get_string() != "null") return std::string(e.get_string());
  return {};
}

}  // namespace

std::optional<json::value> parseJsonOrYaml(std::string_view text, std::string& error) {
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 256;
  json::value v = json::parse(text, ec, {}, opts);
  if (!ec) return v;
  try {
    YAML::Node root = YAML::Load(std::string(text));
    size_t values = 0;
    return fromYaml(root, 0, values);
  } catch (const std::exception& e) {
    error = std::string("neither JSON nor YAML: ") + e.what();
    return std::nullopt;
  }
}

std::shared_ptr<const ApiContract> ApiContract::compile(std::string_view text,
                                                        const std::vector<std::string>& servers,
                                                        std::string& error) {
  auto c = std::make_shared<ApiContract>();
  std::optional<json::value> parsed = parseJsonOrYaml(text, error);
  if (!parsed) return nullptr;
  c->document_ = std::move(*parsed);
  const json::value& doc = c->document_;
  if (!doc.is_object()) {
    error = "the document is not an object";
    return nullptr;
  }
  const json::object& root = doc.get_object();
  bool swagger = stringAt(root, "swagger") == "2.0";
  c->version_ = swagger ? "2.0" : std::string(stringAt(root, "openapi"));
  if (!swagger && !c->version_.starts_with("3.")) {
    error = "neither `openapi: 3.x` nor `swagger: \"2.0\"`";
    return nullptr;
  }
  // Base paths.
  if (!servers.empty()) {
    for (const std::string& s : servers)
      c->basePaths_.push_back(basePathOf(s, nullptr));
  } else if (swagger) {
    c->basePaths_.push_back(basePathOf(stringAt(root, "basePath"), nullptr));
  } else if (const json::value* list = root.if_contains("servers");
             list && list->is_array() && !list->get_array().empty()) {
    for (const json::value& s : list->get_array())
      if (s.is_object())
        c->basePaths_.push_back(
            basePathOf(stringAt(s.get_object(), "url"), objectAt(s.get_object(), "variables")));
  }
  if (c->basePaths_.empty()) c->basePaths_.push_back("");
  std::sort(c->basePaths_.begin(), c->basePaths_.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
  c->basePaths_.erase(std::unique(c->basePaths_.begin(), c->basePaths_.end()), c->basePaths_.end());

  const json::object* paths = objectAt(root, "paths");
  if (!paths) {
    error = "the document has no `paths`";
    return nullptr;
  }
  c->tree_.emplace_back();
  for (const auto& [pathText, itemValue] : *paths) {
    std::string where = std::string(pathText);
    const json::value* itemRef = deref(doc, &itemValue);
    if (!itemRef || !itemRef->is_object()) {
      error = "paths." + where + ": not a path item";
      return nullptr;
    }
    const json::object& item = itemRef->get_object();
    // The tree: one node per segment.
    int node = 0;
    for (const std::string& seg : splitPath(pathText)) {
      size_t open = seg.find('{');
      size_t close = open == std::string::npos ? open : seg.find('}', open);
      if (open == std::string::npos || close == std::string::npos) {
        auto it = c->tree_[size_t(node)].literal.find(seg);
        if (it == c->tree_[size_t(node)].literal.end()) {
          c->tree_.emplace_back();
          int child = int(c->tree_.size()) - 1;
          c->tree_[size_t(node)].literal[seg] = child;
          node = child;
        } else {
          node = it->second;
        }
        continue;
      }
      Segment s;
      s.param = true;
      s.prefix = seg.substr(0, open);
      s.name = seg.substr(open + 1, close - open - 1);
      s.suffix = seg.substr(close + 1);
      int found = -1;
      for (const auto& [other, child] : c->tree_[size_t(node)].params)
        if (other.prefix == s.prefix && other.suffix == s.suffix && other.name == s.name)
          found = child;
      if (found < 0) {
        c->tree_.emplace_back();
        found = int(c->tree_.size()) - 1;
        c->tree_[size_t(node)].params.emplace_back(std::move(s), found);
      }
      node = found;
    }
    if (c->tree_[size_t(node)].pathItem >= 0) {
      error = "paths." + where + ": the same template as another path";
      return nullptr;
    }
    c->tree_[size_t(node)].pathItem = int(c->pathItems_.size());
    PathItem pi;
    pi.text = where;

    // Parameters shared by the path's operations.
    auto readParameters = [&](const json::value* list, std::vector<ApiParameter>& out,
                              const json::value** body, std::string& why) -> bool {
      if (!list || !list->is_array()) return true;
      for (const json::value& raw : list->get_array()) {
        const json::value* p = deref(doc, &raw);
        if (!p || !p->is_object()) {
          why = "a parameter is not an object (or its $ref dangles)";
          return false;
        }
        const json::object& po = p->get_object();
        std::string_view in = stringAt(po, "in");
        if (in == "body") {  // Swagger 2
          *body = p;
          continue;
        }
        ApiParameter ap;
        ap.name = std::string(stringAt(po, "name"));
        if (in == "path")
          ap.in = ApiParameter::In::Path;
        else if (in == "query")
          ap.in = ApiParameter::In::Query;
        else if (in == "header")
          ap.in = ApiParameter::In::Header;
        else if (in == "cookie")
          ap.in = ApiParameter::In::Cookie;
        else
          continue;  // formData: not checked
        const json::value* req = po.if_contains("required");
        ap.required = ap.in == ApiParameter::In::Path || (req && req->is_bool() && req->get_bool());
        if (const json::value* e = po.if_contains("explode"); e && e->is_bool())
          ap.explode = e->get_bool();
        if (std::string_view style = stringAt(po, "style"); !style.empty() && style != "form")
          ap.explode = false;
        if (std::string_view fmt = stringAt(po, "collectionFormat"); swagger)
          ap.explode = fmt == "multi";
        // 3.x: `schema`; Swagger 2: the parameter object itself carries type, enum, minimum…
        const json::value* schema = po.if_contains("schema");
        const json::value* source = schema ? schema : p;
        ap.type = schemaType(doc, source);
        if (ap.type == "array") {
          const json::value* s = deref(doc, source);
          if (s && s->is_object())
            ap.itemsType = schemaType(doc, s->get_object().if_contains("items"));
        }
        std::string schemaError;
        ap.schema = c->schemas_.compile(doc, *source, schemaError);
        if (ap.schema < 0) {
          why = "parameter " + ap.name + ": " + schemaError;
          return false;
        }
        // An operation's parameter replaces the path's of the same name and place.
        std::erase_if(out,
                      [&](const ApiParameter& o) { return o.name == ap.name && o.in == ap.in; });
        out.push_back(std::move(ap));
      }
      return true;
    };
    std::vector<ApiParameter> shared;
    const json::value* sharedBody = nullptr;
    std::string why;
    if (!readParameters(item.if_contains("parameters"), shared, &sharedBody, why)) {
      error = "paths." + where + ": " + why;
      return nullptr;
    }
    for (const char* m : kMethods) {
      const json::object* op = objectAt(item, m);
      if (!op) continue;
      ApiOperation o;
      o.method = toUpper(m);
      o.pathTemplate = where;
      o.parameters = shared;
      const json::value* body = sharedBody;
      if (!readParameters(op->if_contains("parameters"), o.parameters, &body, why)) {
        error = "paths." + where + "." + m + ": " + why;
        return nullptr;
      }
      if (swagger) {
        if (body) {
          o.hasBody = true;
          const json::value* req = body->get_object().if_contains("required");
          o.bodyRequired = req && req->is_bool() && req->get_bool();
          const json::value* consumes = op->if_contains("consumes");
          if (!consumes) consumes = root.if_contains("consumes");
          if (consumes && consumes->is_array())
            for (const json::value& t : consumes->get_array())
              if (t.is_string()) o.mediaTypes.push_back(lower(t.get_string()));
          if (o.mediaTypes.empty()) o.mediaTypes.push_back("application/json");
          if (const json::value* s = body->get_object().if_contains("schema")) {
            std::string schemaError;
            o.jsonSchema = c->schemas_.compile(doc, *s, schemaError);
            if (o.jsonSchema < 0) {
              error = "paths." + where + "." + m + ": body: " + schemaError;
              return nullptr;
            }
          }
        }
      } else if (const json::value* rb = deref(doc, op->if_contains("requestBody"));
                 rb && rb->is_object()) {
        o.hasBody = true;
        const json::value* req = rb->get_object().if_contains("required");
        o.bodyRequired = req && req->is_bool() && req->get_bool();
        if (const json::object* content = objectAt(rb->get_object(), "content"))
          for (const auto& [type, media] : *content) {
            std::string t = lower(type);
            o.mediaTypes.push_back(t);
            bool isJson =
                t == "application/json" || (t.starts_with("application/") && t.ends_with("+json"));
            const json::value* s =
                media.is_object() ? media.get_object().if_contains("schema") : nullptr;
            if (isJson && s && o.jsonSchema < 0) {
              std::string schemaError;
              o.jsonSchema = c->schemas_.compile(doc, *s, schemaError);
              if (o.jsonSchema < 0) {
                error = "paths." + where + "." + m + ": requestBody: " + schemaError;
                return nullptr;
              }
            }
          }
      }
      pi.operations.push_back(int(c->operations_.size()));
      c->operations_.push_back(std::move(o));
    }
    c->pathItems_.push_back(std::move(pi));
  }
  return c;
}

bool ApiContract::matchFrom(int node, const std::vector<std::string>& segments, size_t at, Match& m,
                            int& item) const {
  const TreeNode& n = tree_[size_t(node)];
  if (at == segments.size()) {
    if (n.pathItem < 0) return false;
    item = n.pathItem;
    return true;
  }
  const std::string& seg = segments[at];
  // Concrete paths before templated ones (OpenAPI: "/pets/mine" before "/pets/{id}").
  if (auto it = n.literal.find(seg);
      it != n.literal.end() && matchFrom(it->second, segments, at + 1, m, item))
    return true;
  for (const auto& [s, child] : n.params) {
    if (seg.size() < s.prefix.size() + s.suffix.size() + 1 || !seg.starts_with(s.prefix) ||
        !seg.ends_with(s.suffix))
      continue;
    size_t mark = m.pathValues.size();
    m.pathValues.emplace_back(
        s.name, seg.substr(s.prefix.size(), seg.size() - s.prefix.size() - s.suffix.size()));
    if (matchFrom(child, segments, at + 1, m, item)) return true;
    m.pathValues.resize(mark);
  }
  return false;
}

ApiContract::Match ApiContract::match(std::string_view method, std::string_view path) const {
  Match m;
  for (const std::string& base : basePaths_) {
    if (!path.starts_with(base)) continue;
    std::string_view rest = path.substr(base.size());
    if (!rest.empty() && rest[0] != '/') continue;
    std::vector<std::string> segments;
    for (const std::string& raw : splitPath(rest.empty() ? std::string_view("/") : rest)) {
      std::string decoded;
      if (!http::pathUnescape(raw, decoded)) decoded = raw;
      segments.push_back(std::move(decoded));
    }
    int item = -1;
    m.pathValues.clear();
    if (!matchFrom(0, segments, 0, m, item)) continue;
    const PathItem& pi = pathItems_[size_t(item)];
    for (int index : pi.operations) {
      const ApiOperation& op = operations_[size_t(index)];
      if (iequals(op.method, method)) {
        m.kind = Match::Kind::Found;
        m.operation = &op;
        return m;
      }
    }
    m.kind = Match::Kind::NoMethod;
    for (int index : pi.operations) {
      if (!m.allowed.empty()) m.allowed += ", ";
      m.allowed += operations_[size_t(index)].method;
    }
    return m;
  }
  m.kind = Match::Kind::NoPath;
  return m;
}

}  // namespace causeway::gateway::api
