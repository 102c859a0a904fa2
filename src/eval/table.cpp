#include "dkd/eval/table.h"

#include <cstdlib>
#include <string>

#include "dkd/eval/numbers.h"
#include "dkd/util/error.h"

namespace dkd {
namespace {

/// What a cell shows in the console and in Markdown.
std::string shown(const nlohmann::json& cell, const TableColumn& column) {
  if (cell.is_string()) return cell.get<std::string>();
  if (cell.is_number()) return fixed(cell.get<double>() * column.scale, column.decimals) + column.suffix;
  throw Error("table: column '" + column.md_header + "' holds a cell that is neither text nor a number");
}

std::string aligned(const std::string& text, int width) {
  const std::size_t w = static_cast<std::size_t>(std::abs(width));
  if (text.size() >= w) return text;
  const std::string pad(w - text.size(), ' ');
  return width < 0 ? text + pad : pad + text;
}

void check_row(const Table& table, const std::vector<nlohmann::json>& row) {
  if (row.size() != table.columns.size())
    throw Error("table '" + table.title + "': a row has " + std::to_string(row.size()) + " cells for " +
                std::to_string(table.columns.size()) + " columns");
}

}  // namespace

std::string table_to_text(const Table& table) {
  std::string out = table.title + "\n";
  const auto line = [&](auto&& cell_text) {
    std::string text;
    for (std::size_t c = 0; c < table.columns.size(); ++c) {
      const TableColumn& column = table.columns[c];
      if (column.text_header.empty()) continue;
      if (!text.empty()) text += ' ';
      text += aligned(cell_text(c), column.width);
    }
    out += text + "\n";
  };
  line([&](std::size_t c) { return table.columns[c].text_header; });
  for (const auto& row : table.rows) {
    check_row(table, row);
    line([&](std::size_t c) { return shown(row[c], table.columns[c]); });
  }
  return out;
}

std::string table_to_markdown(const Table& table) {
  std::string header = "|", rule = "|";
  for (const auto& column : table.columns) {
    if (column.md_header.empty()) continue;
    header += " " + column.md_header + " |";
    rule += "---|";
  }
  std::string out = table.title + "\n\n" + header + "\n" + rule + "\n";
  for (const auto& row : table.rows) {
    check_row(table, row);
    out += "|";
    for (std::size_t c = 0; c < table.columns.size(); ++c) {
      if (table.columns[c].md_header.empty()) continue;
      out += " " + shown(row[c], table.columns[c]) + " |";
    }
    out += "\n";
  }
  return out;
}

nlohmann::json table_to_json(const Table& table) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : table.rows) {
    check_row(table, row);
    nlohmann::json j = nlohmann::json::object();
    for (std::size_t c = 0; c < table.columns.size(); ++c) {
      if (!table.columns[c].json_key.empty()) j[table.columns[c].json_key] = row[c];
    }
    rows.push_back(std::move(j));
  }
  return rows;
}

}  // namespace dkd
