#include "attest/image/grub_cfg.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attest/util/status_macros.h"

namespace bootgate::attest {
namespace {

// A piece of a word: literal text, or a variable reference expanded at execution time.
struct Segment {
  bool variable = false;
  bool in_double_quotes = false;  // a variable in "...": not split into fields
  std::string text;               // literal text or variable name
};

struct Word {
  std::vector<Segment> segments;
  bool quoted = false;  // contained a quote: survives expanding to ""
  size_t start = 0;     // source offsets [start, end)
  size_t end = 0;
  // An unquoted word that is exactly "{" or "}".
  bool IsBrace(char c) const {
    return !quoted && segments.size() == 1 && !segments[0].variable &&
           segments[0].text == std::string(1, c);
  }
};

struct Command {
  std::vector<Word> words;
};

// Variables: a value, or nullopt for one that only grub knows at run time.
using Vars = std::map<std::string, std::optional<std::string>>;

constexpr const char* kControlKeywords[] = {
    "if",    "then",     "else",   "elif",        "fi",         "for",      "while",    "until",
    "do",    "done",     "case",   "esac",        "select",     "function", "source",   ".",
    "[",     "[[",       "test",   "submenu",     "configfile", "load_env", "save_env", "return",
    "break", "continue", "blscfg", "chainloader", "normal",     "export"};

constexpr const char* kSimpleCommands[] = {
    "set",  "insmod", "search",         "search.fs_uuid", "search.fs_label",
    "echo", "serial", "terminal_input", "terminal_output"};

class Lexer {
 public:
  Lexer(absl::string_view src, size_t begin, size_t end) : src_(src), pos_(begin), end_(end) {}

  bool AtEnd() const { return pos_ >= end_; }
  size_t pos() const { return pos_; }

  // Only for error messages: linear in the offset.
  size_t LineAt(size_t offset) const {
    return 1 + std::count(src_.begin(), src_.begin() + std::min(offset, src_.size()), '\n');
  }

  absl::Status Error(size_t offset, absl::string_view message) const {
    return absl::InvalidArgumentError(
        absl::StrCat("grub.cfg line ", LineAt(offset), ": ", message));
  }

  // Reads the next command (possibly empty at a blank line). A command ends at a newline, ';', the
  // end of input, right after a standalone "{" word, or right after a "}" that starts a command.
  absl::StatusOr<Command> Next() {
    Command cmd;
    while (pos_ < end_) {
      const char c = src_[pos_];
      if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
        continue;
      }
      if (c == '\\' && pos_ + 1 < end_ && src_[pos_ + 1] == '\n') {
        pos_ += 2;
        continue;
      }
      if (c == '#') {
        while (pos_ < end_ && src_[pos_] != '\n') ++pos_;
        continue;
      }
      if (c == '\n' || c == ';') {
        ++pos_;
        return cmd;
      }
      if (cmd.words.size() >= kMaxGrubWordsPerCommand) {
        return Error(pos_, absl::StrCat("more than ", kMaxGrubWordsPerCommand, " words"));
      }
      ASSIGN_OR_RETURN(Word w, ReadWord());
      const bool open = w.IsBrace('{');
      const bool close = w.IsBrace('}') && cmd.words.empty();
      cmd.words.push_back(std::move(w));
      if (open || close) return cmd;
    }
    return cmd;
  }

 private:
  absl::StatusOr<Word> ReadWord() {
    Word w;
    w.start = pos_;
    auto literal = [&](char c) {
      if (w.segments.empty() || w.segments.back().variable) w.segments.push_back(Segment{});
      w.segments.back().text.push_back(c);
    };
    while (pos_ < end_) {
      const char c = src_[pos_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';') break;
      if (c == '|' || c == '&' || c == '<' || c == '>') {
        return Error(pos_, absl::StrCat("operator '", std::string(1, c), "' is not supported"));
      }
      if (c == '\\') {
        if (pos_ + 1 >= end_) return Error(pos_, "backslash at end of input");
        if (src_[pos_ + 1] == '\n') {
          pos_ += 2;
          continue;
        }
        literal(src_[pos_ + 1]);
        pos_ += 2;
        continue;
      }
      if (c == '\'') {
        w.quoted = true;
        const size_t close = src_.find('\'', pos_ + 1);
        if (close == absl::string_view::npos || close >= end_) {
          return Error(pos_, "unterminated single quote");
        }
        if (w.segments.empty() || w.segments.back().variable) w.segments.push_back(Segment{});
        w.segments.back().text.append(src_.data() + pos_ + 1, close - pos_ - 1);
        pos_ = close + 1;
        continue;
      }
      if (c == '"') {
        w.quoted = true;
        const size_t open = pos_++;
        bool closed = false;
        while (pos_ < end_) {
          const char d = src_[pos_];
          if (d == '"') {
            ++pos_;
            closed = true;
            break;
          }
          if (d == '\\' && pos_ + 1 < end_) {
            const char e = src_[pos_ + 1];
            if (e == '\n') {
              pos_ += 2;
            } else if (e == '"' || e == '\\' || e == '$') {
              literal(e);
              pos_ += 2;
            } else {
              literal('\\');
              ++pos_;
            }
            continue;
          }
          if (d == '$') {
            RETURN_IF_ERROR(ReadVariable(&w, /*in_double_quotes=*/true));
            continue;
          }
          literal(d);
          ++pos_;
        }
        if (!closed) return Error(open, "unterminated double quote");
        continue;
      }
      if (c == '$') {
        RETURN_IF_ERROR(ReadVariable(&w, /*in_double_quotes=*/false));
        continue;
      }
      literal(c);
      ++pos_;
    }
    w.end = pos_;
    return w;
  }

  // At '$': $name or ${name}, name = [A-Za-z0-9_]+.
  absl::Status ReadVariable(Word* w, bool in_double_quotes) {
    const size_t dollar = pos_++;
    const bool braced = pos_ < end_ && src_[pos_] == '{';
    if (braced) ++pos_;
    const size_t name_start = pos_;
    while (pos_ < end_ && (absl::ascii_isalnum(src_[pos_]) || src_[pos_] == '_')) ++pos_;
    if (pos_ == name_start) {
      return Error(dollar, "unsupported variable reference (only $name and ${name})");
    }
    std::string name(src_.substr(name_start, pos_ - name_start));
    if (braced) {
      if (pos_ >= end_ || src_[pos_] != '}') {
        return Error(dollar, "unsupported variable reference (only $name and ${name})");
      }
      ++pos_;
    }
    w->segments.push_back(Segment{true, in_double_quotes, std::move(name)});
    return absl::OkStatus();
  }

  absl::string_view src_;
  size_t pos_;
  size_t end_;
};

struct MenuEntry {
  std::string title;
  std::optional<std::string> id;
  std::vector<std::string> params;  // title and extra positional arguments (for setparams)
  size_t body_begin = 0;            // source offsets of the text between the braces
  size_t body_end = 0;
};

class Runner {
 public:
  Runner(absl::string_view src, const GrubConfigOptions& options) : src_(src), options_(options) {
    vars_["grub_cpu"] = "x86_64";
    vars_["grub_platform"] = "efi";
    for (const auto& [k, v] : options.variables) vars_[k] = v;
  }

  absl::StatusOr<GrubBootPlan> Run() {
    if (src_.size() > kMaxGrubCfgBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("grub.cfg: ", src_.size(), " bytes exceeds cap ", kMaxGrubCfgBytes));
    }
    Lexer lex(src_, 0, src_.size());
    while (!lex.AtEnd()) {
      ASSIGN_OR_RETURN(Command cmd, lex.Next());
      if (cmd.words.empty()) continue;
      RETURN_IF_ERROR(CountCommand(lex, cmd));
      if (cmd.words[0].IsBrace('}')) return lex.Error(cmd.words[0].start, "unmatched '}'");
      if (cmd.words.back().IsBrace('{')) {
        RETURN_IF_ERROR(DefineMenuEntry(lex, cmd));
        lex = Lexer(src_, resume_, src_.size());  // continue after the block's closing '}'
        continue;
      }
      ASSIGN_OR_RETURN(std::vector<std::string> argv, Expand(lex, cmd));
      if (argv.empty()) continue;
      RETURN_IF_ERROR(CheckCommandName(lex, cmd, argv[0], /*in_entry=*/false));
      RETURN_IF_ERROR(Simple(lex, cmd, argv));
    }
    if (entries_.empty()) {
      return absl::InvalidArgumentError("grub.cfg: no menuentry to boot");
    }
    ASSIGN_OR_RETURN(const MenuEntry* entry, ChooseEntry());
    return Boot(*entry);
  }

 private:
  absl::Status CountCommand(const Lexer& lex, const Command& cmd) {
    if (++commands_ > kMaxGrubCommands) {
      return lex.Error(cmd.words[0].start,
                       absl::StrCat("more than ", kMaxGrubCommands, " commands"));
    }
    return absl::OkStatus();
  }

  // Expands variables. Like grub, an unquoted variable's value is split into fields at blanks,
  // and an unquoted word that expands to nothing is dropped.
  absl::StatusOr<std::vector<std::string>> Expand(const Lexer& lex, const Command& cmd) {
    std::vector<std::string> argv;
    for (const Word& w : cmd.words) {
      std::vector<std::string> fields;
      std::string cur;
      bool have = false;  // `cur` is a field (possibly still empty)
      for (const Segment& s : w.segments) {
        if (!s.variable) {
          cur += s.text;
          have = have || !s.text.empty();
          continue;
        }
        auto it = vars_.find(s.text);
        if (it == vars_.end()) {
          return lex.Error(w.start,
                           absl::StrCat("variable $", s.text, " is not set by this grub.cfg"));
        }
        if (!it->second.has_value()) {
          return lex.Error(
              w.start, absl::StrCat("variable $", s.text, " is only known when grub runs (set by ",
                                    "search or grub itself)"));
        }
        const std::string& value = *it->second;
        if (s.in_double_quotes) {
          cur += value;
          have = true;
          continue;
        }
        auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n'; };
        size_t i = 0;
        while (i < value.size()) {
          const size_t start = i;
          while (i < value.size() && blank(value[i])) ++i;
          if (i == value.size()) {  // trailing blanks end the field
            if (have) {
              fields.push_back(std::move(cur));
              cur.clear();
              have = false;
            }
            break;
          }
          if (i > start && have) {  // blanks before this piece end the field
            fields.push_back(std::move(cur));
            cur.clear();
          }
          const size_t piece = i;
          while (i < value.size() && !blank(value[i])) ++i;
          cur.append(value, piece, i - piece);
          have = true;
        }
      }
      if (have || (w.quoted && fields.empty())) fields.push_back(std::move(cur));
      for (std::string& f : fields) argv.push_back(std::move(f));
    }
    return argv;
  }

  absl::Status CheckCommandName(const Lexer& lex, const Command& cmd, const std::string& name,
                                bool in_entry) {
    for (const char* k : kControlKeywords) {
      if (name == k) {
        return lex.Error(cmd.words[0].start,
                         absl::StrCat("'", name,
                                      "' is not supported: only linear grub.cfg files are (no "
                                      "if/for/while/until/function/source/submenu)"));
      }
    }
    for (const char* k : kSimpleCommands) {
      if (name == k) return absl::OkStatus();
    }
    if (in_entry &&
        (name == "linux" || name == "linuxefi" || name == "initrd" || name == "initrdefi")) {
      return absl::OkStatus();
    }
    if (name == "menuentry") {
      return lex.Error(cmd.words[0].start, in_entry ? "nested menuentry is not supported"
                                                    : "menuentry without a { ... } block");
    }
    return lex.Error(cmd.words[0].start,
                     absl::StrCat("command '", name, "' is not supported (supported: ",
                                  absl::StrJoin(kSimpleCommands, ", "),
                                  in_entry ? ", linux, initrd" : ", menuentry", ")"));
  }

  // Effects of the simple commands; every one is measured.
  absl::Status Simple(const Lexer& lex, const Command& cmd, const std::vector<std::string>& argv) {
    const std::string& name = argv[0];
    if (name == "set") {
      if (argv.size() != 2 || argv[1].find('=') == std::string::npos) {
        return lex.Error(cmd.words[0].start, "only 'set NAME=VALUE' is supported");
      }
      const size_t eq = argv[1].find('=');
      std::string var = argv[1].substr(0, eq);
      if (var.empty() || !std::all_of(var.begin(), var.end(),
                                      [](char c) { return absl::ascii_isalnum(c) || c == '_'; })) {
        return lex.Error(cmd.words[0].start, absl::StrCat("bad variable name '", var, "'"));
      }
      vars_[var] = argv[1].substr(eq + 1);
    } else if (absl::StartsWith(name, "search")) {
      RETURN_IF_ERROR(Search(lex, cmd, argv));
    }
    Measure(absl::StrJoin(argv, " "));
    return absl::OkStatus();
  }

  absl::Status Search(const Lexer& lex, const Command& cmd, const std::vector<std::string>& argv) {
    bool by_uuid_or_label = argv[0] != "search";
    std::optional<std::string> set_var;
    std::vector<std::string> positional;
    for (size_t i = 1; i < argv.size(); ++i) {
      const std::string& a = argv[i];
      if (a == "-u" || a == "--fs-uuid" || a == "-l" || a == "--label") {
        by_uuid_or_label = true;
      } else if (a == "-f" || a == "--file") {
        return lex.Error(cmd.words[0].start,
                         "search by file is not supported (grub may measure the probed file)");
      } else if (a == "-s" || a == "--set") {
        set_var = "root";
      } else if (absl::StartsWith(a, "--set=")) {
        set_var = a.substr(6);
      } else if (a == "-n" || a == "--no-floppy" || absl::StartsWith(a, "--hint")) {
      } else if (absl::StartsWith(a, "-")) {
        return lex.Error(cmd.words[0].start,
                         absl::StrCat("search option '", a, "' is not supported"));
      } else {
        positional.push_back(a);
      }
    }
    if (!by_uuid_or_label) {
      return lex.Error(cmd.words[0].start, "search needs --fs-uuid or --label");
    }
    if (argv[0] != "search" && positional.size() >= 2) set_var = positional[1];
    if (argv[0] != "search" && !set_var.has_value()) set_var = "root";
    if (set_var.has_value()) vars_[*set_var] = std::nullopt;
    return absl::OkStatus();
  }

  absl::Status DefineMenuEntry(const Lexer& lex, const Command& cmd) {
    const Word& brace = cmd.words.back();
    Command head = cmd;
    head.words.pop_back();
    ASSIGN_OR_RETURN(std::vector<std::string> argv, Expand(lex, head));
    if (argv.empty() || argv[0] != "menuentry") {
      return lex.Error(cmd.words[0].start,
                       absl::StrCat("'{' block after '", argv.empty() ? "" : argv[0],
                                    "' is not supported (only menuentry blocks)"));
    }
    MenuEntry entry;
    for (size_t i = 1; i < argv.size(); ++i) {
      const std::string& a = argv[i];
      static const char* const kValued[] = {"--class", "--users", "--hotkey", "--id"};
      bool handled = false;
      for (const char* opt : kValued) {
        if (a == opt) {
          if (i + 1 >= argv.size()) {
            return lex.Error(cmd.words[0].start, absl::StrCat("menuentry ", a, " needs a value"));
          }
          if (a == "--id") entry.id = argv[i + 1];
          ++i;
          handled = true;
        } else if (absl::StartsWith(a, absl::StrCat(opt, "="))) {
          if (absl::string_view(opt) == "--id") entry.id = a.substr(5);
          handled = true;
        }
        if (handled) break;
      }
      if (handled || a == "--unrestricted") continue;
      if (absl::StartsWith(a, "-")) {
        return lex.Error(cmd.words[0].start,
                         absl::StrCat("menuentry option '", a, "' is not supported"));
      }
      entry.params.push_back(a);
    }
    if (entry.params.empty()) return lex.Error(cmd.words[0].start, "menuentry without a title");
    entry.title = entry.params[0];

    // Find the closing brace without executing the body.
    Lexer body = lex;
    entry.body_begin = brace.end;
    size_t close_end = 0;
    bool closed = false;
    while (!body.AtEnd()) {
      ASSIGN_OR_RETURN(Command c, body.Next());
      if (c.words.empty()) continue;
      if (c.words[0].IsBrace('}')) {
        entry.body_end = c.words[0].start;
        close_end = c.words[0].end;
        closed = true;
        break;
      }
      if (c.words.back().IsBrace('{')) {
        return body.Error(c.words.back().start, "nested blocks are not supported");
      }
    }
    if (!closed) return lex.Error(brace.start, "menuentry block without a closing '}'");
    // The rest of the line after '}' must be empty.
    Lexer after(src_, close_end, src_.size());
    ASSIGN_OR_RETURN(Command rest, after.Next());
    if (!rest.words.empty()) {
      return after.Error(rest.words[0].start, "text after a menuentry's closing '}'");
    }
    argv.push_back(std::string(src_.substr(brace.start, close_end - brace.start)));
    Measure(absl::StrJoin(argv, " "));
    entries_.push_back(std::move(entry));
    resume_ = after.pos();
    return absl::OkStatus();
  }

  absl::StatusOr<const MenuEntry*> ChooseEntry() {
    std::string want;
    if (options_.entry.has_value()) {
      want = *options_.entry;
    } else {
      auto it = vars_.find("default");
      if (it == vars_.end()) return &entries_[0];
      if (!it->second.has_value()) {
        return absl::InvalidArgumentError("grub.cfg: the default entry is only known at run time");
      }
      want = *it->second;
    }
    size_t index = 0;
    if (absl::SimpleAtoi(want, &index)) {
      if (index >= entries_.size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "grub.cfg: default entry ", index, " but only ", entries_.size(), " menuentries"));
      }
      return &entries_[index];
    }
    for (const MenuEntry& e : entries_) {
      if (e.title == want || (e.id.has_value() && *e.id == want)) return &e;
    }
    return absl::InvalidArgumentError(
        absl::StrCat("grub.cfg: no menuentry titled or with --id \"", want, "\""));
  }

  absl::StatusOr<GrubBootPlan> Boot(const MenuEntry& entry) {
    GrubBootPlan plan;
    plan.entry_title = entry.title;
    Measure(absl::StrCat("setparams ", absl::StrJoin(entry.params, " ")));
    Lexer lex(src_, entry.body_begin, entry.body_end);
    bool have_linux = false;
    bool have_initrd = false;
    while (!lex.AtEnd()) {
      ASSIGN_OR_RETURN(Command cmd, lex.Next());
      if (cmd.words.empty()) continue;
      ASSIGN_OR_RETURN(std::vector<std::string> argv, Expand(lex, cmd));
      if (argv.empty()) continue;
      RETURN_IF_ERROR(CheckCommandName(lex, cmd, argv[0], /*in_entry=*/true));
      const std::string& name = argv[0];
      if (name == "linux" || name == "linuxefi") {
        if (have_linux) return lex.Error(cmd.words[0].start, "more than one linux command");
        if (argv.size() < 2) return lex.Error(cmd.words[0].start, "linux without a kernel path");
        have_linux = true;
        Measure(absl::StrJoin(argv, " "));
        plan.kernel_path = argv[1];
        plan.kernel_args.assign(argv.begin() + 2, argv.end());
        plan.kernel_cmdline = GrubLoaderCmdline({argv.begin() + 1, argv.end()});
        steps_.push_back({GrubBootStep::Kind::kKernelFile, plan.kernel_path});
        steps_.push_back({GrubBootStep::Kind::kKernelCmdline, plan.kernel_cmdline});
      } else if (name == "initrd" || name == "initrdefi") {
        if (!have_linux) return lex.Error(cmd.words[0].start, "initrd before linux");
        if (have_initrd) return lex.Error(cmd.words[0].start, "more than one initrd command");
        if (argv.size() < 2) return lex.Error(cmd.words[0].start, "initrd without a path");
        have_initrd = true;
        Measure(absl::StrJoin(argv, " "));
        for (size_t i = 1; i < argv.size(); ++i) {
          plan.initrd_paths.push_back(argv[i]);
          steps_.push_back({GrubBootStep::Kind::kInitrdFile, argv[i]});
        }
      } else {
        RETURN_IF_ERROR(Simple(lex, cmd, argv));
      }
    }
    if (!have_linux) {
      return absl::InvalidArgumentError(
          absl::StrCat("grub.cfg: menuentry \"", entry.title, "\" has no linux command"));
    }
    plan.steps = std::move(steps_);
    return plan;
  }

  void Measure(std::string command) {
    steps_.push_back({GrubBootStep::Kind::kCommand, std::move(command)});
  }

  absl::string_view src_;
  const GrubConfigOptions& options_;
  Vars vars_;
  std::vector<MenuEntry> entries_;
  std::vector<GrubBootStep> steps_;
  size_t commands_ = 0;
  size_t resume_ = 0;
};

}  // namespace

std::vector<std::string> GrubBootPlan::Commands() const {
  std::vector<std::string> out;
  for (const GrubBootStep& s : steps) {
    if (s.kind == GrubBootStep::Kind::kCommand) out.push_back(s.text);
  }
  return out;
}

absl::StatusOr<GrubBootPlan> ParseGrubConfig(absl::string_view cfg,
                                             const GrubConfigOptions& options) {
  Runner runner(cfg, options);
  return runner.Run();
}

absl::StatusOr<std::vector<PredictedEvent>> PredictGrubEvents(const GrubBootPlan& plan,
                                                              absl::string_view cfg_path,
                                                              ByteSpan cfg, ByteSpan kernel,
                                                              const std::vector<ByteSpan>& initrds,
                                                              absl::Span<const uint16_t> algs) {
  if (initrds.size() != plan.initrd_paths.size()) {
    return absl::InvalidArgumentError(absl::StrCat("grub prediction: grub.cfg loads ",
                                                   plan.initrd_paths.size(), " initrd(s), ",
                                                   initrds.size(), " given"));
  }
  std::vector<PredictedEvent> out;
  ASSIGN_OR_RETURN(PredictedEvent cfg_event, GrubFileEvent(cfg_path, cfg, algs));
  out.push_back(std::move(cfg_event));
  size_t next_initrd = 0;
  for (const GrubBootStep& s : plan.steps) {
    PredictedEvent e;
    switch (s.kind) {
      case GrubBootStep::Kind::kCommand: {
        ASSIGN_OR_RETURN(e, GrubCommandEvent(s.text, algs));
        break;
      }
      case GrubBootStep::Kind::kKernelFile: {
        ASSIGN_OR_RETURN(e, GrubFileEvent(s.text, kernel, algs));
        break;
      }
      case GrubBootStep::Kind::kKernelCmdline: {
        ASSIGN_OR_RETURN(e, GrubKernelCmdlineEvent(s.text, algs));
        break;
      }
      case GrubBootStep::Kind::kInitrdFile: {
        ASSIGN_OR_RETURN(e, GrubFileEvent(s.text, initrds[next_initrd++], algs));
        break;
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace bootgate::attest
