#pragma once
// One table model written three ways: aligned console text, Markdown and JSON.
// A report builds its rows once from what it measured; the three writers only
// lay them out, so the console, the .md file and the .json file cannot disagree.
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace dkd {

struct TableColumn {
  TableColumn(std::string text_header, std::string md_header, std::string json_key, int width = 10, int decimals = 2,
              double scale = 1.0, std::string suffix = "")
      : text_header(std::move(text_header)),
        md_header(std::move(md_header)),
        json_key(std::move(json_key)),
        width(width),
        decimals(decimals),
        scale(scale),
        suffix(std::move(suffix)) {}

  std::string text_header;  ///< console header; "" = a column of the JSON alone
  std::string md_header;    ///< Markdown header
  std::string json_key;     ///< key of the cell in each JSON row; "" = not in the JSON
  /// Console width; a negative width aligns left (as printf's "%-34s").
  int width;
  /// Digits after the point of a number cell, in the console and Markdown.
  int decimals;
  /// Shown value = value * scale (parameters in millions, a share in percent);
  /// the JSON keeps the value itself.
  double scale;
  std::string suffix;  ///< after a shown number ("%", "x")
};

struct Table {
  std::string title;
  std::vector<TableColumn> columns;
  /// One cell per column: a string or a number (JSON integers stay integers).
  std::vector<std::vector<nlohmann::json>> rows;
};

/// Title line, a header line and one line per row, columns one space apart.
std::string table_to_text(const Table& table);
/// Title paragraph and a Markdown table.
std::string table_to_markdown(const Table& table);
/// An array with one object per row: {json_key: cell}.
nlohmann::json table_to_json(const Table& table);

}  // namespace dkd
