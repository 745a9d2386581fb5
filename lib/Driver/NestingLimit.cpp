//===- NestingLimit.cpp - Bounding how deep MLIR text nests ---------------===//
#include "accel/Driver/NestingLimit.h"

#include "mlir/Bytecode/BytecodeReader.h"
#include "llvm/Support/MemoryBufferRef.h"

using namespace accel;

std::string accel::checkMlirNesting(llvm::StringRef text,
                                    llvm::StringRef name) {
  // Bytecode has no brackets to count (its reader bounds its own nesting).
  if (mlir::isBytecode(llvm::MemoryBufferRef(text, name)))
    return "";
  int depth = 0, line = 1;
  size_t lineStart = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    char next = i + 1 < text.size() ? text[i + 1] : '\0';
    char prev = i > 0 ? text[i - 1] : '\0';
    if (c == '\n') {
      ++line;
      lineStart = i + 1;
    } else if (c == '"') { // a string literal, escapes included
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\')
          ++i;
        else if (text[i] == '\n')
          ++line, lineStart = i + 1;
    } else if (c == '/' && next == '/') { // a comment, to the line's end
      while (i + 1 < text.size() && text[i + 1] != '\n')
        ++i;
    } else if (c == '{' || c == '[' || c == '(' || (c == '<' && next != '=')) {
      if (++depth > kMaxMlirNesting)
        return (name.str() + ":" + std::to_string(line) + ":" +
                std::to_string(i - lineStart + 1) +
                ": error: nested more than " + std::to_string(kMaxMlirNesting) +
                " levels deep; accel refuses such input (its parser "
                "recurses once per level)");
    } else if (c == '}' || c == ']' || c == ')' ||
               (c == '>' && prev != '-' && next != '=')) {
      // '->' and '>=' close nothing; an unmatched closer is the parser's
      // to report.
      depth = depth > 0 ? depth - 1 : 0;
    }
  }
  return "";
}
