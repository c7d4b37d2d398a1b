// bootgate-agent join: attests with a join-token request and hands the unwrapped token to a file or
// a command. The token's secret part is never printed.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "node-agent/cli/commands.h"
#include "node-agent/client/verifier_client.h"
#include "node-agent/io/files.h"

namespace bootgate::agent::cli {
namespace {

constexpr char kUsage[] =
    "Usage: bootgate-agent join --verifier HOST:PORT --ca FILE [--eventlog PATH]\n"
    "                           (--token-file FILE | --exec 'CMD ... {token} ...') [common flags]\n"
    "\n"
    "Attests like 'bootgate-agent attest' and asks for a join token. When the verdict is\n"
    "affirming, the token (wrapped for this TPM) is recovered with TPM2_ActivateCredential and\n"
    "AES-256-GCM, then written to --token-file (mode 0600) or passed to --exec: the command is\n"
    "split on whitespace (no shell) and every {token} in an argument is replaced by the token.\n"
    "Prints the token id (the part before the dot), never the secret.\n"
    "Exit code 1 when the verdict is not affirming or no token was issued; with --exec, the\n"
    "command's own non-zero exit code is returned as 1 too.\n"
    "\n"
    "  --eventlog PATH       firmware event log; default\n"
    "                        /sys/kernel/security/tpm0/binary_bios_measurements\n"
    "  --token-file FILE     write the token here (mode 0600)\n"
    "  --exec COMMAND        run COMMAND with {token} substituted, e.g.\n"
    "                        'kubeadm join 10.0.0.1:6443 --token {token} "
    "--discovery-token-ca-cert-hash "
    "sha256:...'\n";

// Runs argv (fork + execvp) and waits. Returns the exit status or an error.
absl::StatusOr<int> RunCommand(const std::vector<std::string>& argv) {
  std::vector<char*> c_argv;
  for (const std::string& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    execvp(c_argv[0], c_argv.data());
    const std::string msg =
        absl::StrCat("bootgate-agent: exec ", argv[0], ": ", std::strerror(errno), "\n");
    (void)!write(STDERR_FILENO, msg.data(), msg.size());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return absl::InternalError(absl::StrCat("waitpid: ", std::strerror(errno)));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace

int RunJoin(const std::vector<std::string>& args) {
  FlagSpec spec;
  AddVerifierFlags(&spec);
  spec.value_flags.insert({"eventlog", "token-file", "exec"});
  static const std::string usage = absl::StrCat(kUsage, kVerifierFlagsHelp);
  CommandStart start = StartCommand(args, spec, "join", usage.c_str());
  if (!start.settings.has_value()) return start.exit_code;
  const Settings& settings = *start.settings;
  const Flags& flags = settings.flags();

  if (flags.Has("token-file") == flags.Has("exec")) {
    return UsageError("give exactly one of --token-file and --exec", "join");
  }
  std::vector<std::string> command;
  if (flags.Has("exec")) {
    command = absl::StrSplit(flags.Get("exec"), absl::ByAnyChar(" \t\n"), absl::SkipEmpty());
    if (command.empty()) return UsageError("--exec: empty command", "join");
  } else if (flags.Get("token-file").empty()) {
    return UsageError("--token-file: empty path", "join");
  }

  std::unique_ptr<VerifierClient> client;
  if (int rc = ConnectVerifier(settings, "join", &client); rc != kExitOk) return rc;
  absl::StatusOr<std::string> node_id = ReadNodeId(start.options.state_dir);
  if (!node_id.ok()) return ReportError(node_id.status());
  attest::Bytes event_log;
  if (int rc = ReadEventLogSetting(settings, &event_log); rc != kExitOk) return rc;
  absl::StatusOr<std::unique_ptr<Agent>> agent = Agent::Connect(start.options);
  if (!agent.ok()) return ReportError(agent.status());
  absl::StatusOr<v1::AttestResponse> response =
      Attest(**agent, *client, *node_id, event_log, /*request_join_token=*/true);
  if (!response.ok()) return ReportFlowError(response.status());

  std::cout << DescribeAttestation(*response);
  if (response->verdict() != v1::VERDICT_AFFIRMING) return kExitFailed;
  if (!response->has_join_token()) {
    std::cerr << "bootgate-agent: the verifier issued no join token\n";
    return kExitFailed;
  }
  absl::StatusOr<std::string> token =
      UnwrapJoinToken(**agent, response->join_token(), response->attestation_id(), *node_id);
  if (!token.ok()) return ReportError(token.status());
  const std::string token_id = token->substr(0, token->find('.'));

  if (flags.Has("token-file")) {
    const std::string contents = *token + "\n";
    if (absl::Status s = WriteFileAtomic(flags.Get("token-file"), attest::AsSpan(contents), 0600);
        !s.ok()) {
      return ReportError(s);
    }
    std::cout << "join token " << token_id << " written to " << flags.Get("token-file") << "\n";
    return kExitOk;
  }
  for (std::string& arg : command) arg = absl::StrReplaceAll(arg, {{"{token}", *token}});
  std::cout << "join token " << token_id << " passed to " << command[0] << std::endl;
  absl::StatusOr<int> rc = RunCommand(command);
  if (!rc.ok()) return ReportError(rc.status());
  if (*rc != 0) {
    std::cerr << "bootgate-agent: " << command[0] << " exited with status " << *rc << "\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace bootgate::agent::cli
