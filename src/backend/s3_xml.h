// A small, strict XML reader for S3 answers (ListObjectsV2, errors, multipart uploads).
//
// Why our own and not libxml2/expat: S3 answers use a tiny subset of XML (elements, text, the
// five predefined entities and numeric character references, an XML declaration, attributes
// such as xmlns), and a 150-line reader that refuses everything else (DTDs, entity
// declarations, CDATA, mismatched tags, trailing content) has no external-entity or
// billion-laughs surface and needs no extra package. Thread-safe (pure function).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace mlvault::backend::xml {

struct Element {
  std::string name;  // local name (a "ns:" prefix is dropped)
  std::string text;  // character data directly inside, entities decoded
  std::vector<Element> children;

  // The first child named `name`, or nullptr.
  const Element* Child(std::string_view name) const;
  // The text of the first child named `name`, or "" when there is none.
  std::string ChildText(std::string_view name) const;
};

// Parses one document. kCorruption naming the offset and the problem on anything malformed
// or outside the subset above; documents nest at most 32 levels.
util::Result<Element> Parse(std::string_view document);

}  // namespace mlvault::backend::xml
