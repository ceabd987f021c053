/* HotSpot PrintAssembly plugin (decode_instructions_virtual) on the capstone disassembler: lets
   -XX:+PrintAssembly show the machine code C2 emits for the kernels. A development tool, built by
   tools/hsdis outside the repository; nothing in Tandem links it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <capstone/capstone.h>
typedef void* (*ev_t)(void*, const char*, void*);
typedef int (*pr_t)(void*, const char*, ...);
static void* null_ev(void* s, const char* e, void* a) { return NULL; }
void* decode_instructions_virtual(uintptr_t start_va, uintptr_t end_va, unsigned char* buffer, uintptr_t length,
    ev_t ev, void* ev_stream, pr_t pr, void* pr_stream, const char* options, int newline) {
  csh h; cs_insn* insn;
  if (pr == NULL) { pr = (pr_t) &fprintf; if (pr_stream == NULL) pr_stream = stdout; }
  if (ev == NULL) ev = &null_ev;
  if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) { pr(pr_stream, "capstone open failed"); return NULL; }
  cs_option(h, CS_OPT_SYNTAX, (options && strstr(options, "intel")) ? CS_OPT_SYNTAX_INTEL : CS_OPT_SYNTAX_ATT);
  cs_option(h, CS_OPT_SKIPDATA, CS_OPT_ON);
  size_t n = cs_disasm(h, buffer, length, (uintptr_t) buffer, 0, &insn);
  for (size_t j = 0; j < n; j++) {
    ev(ev_stream, "insn", (void*) insn[j].address);
    pr(pr_stream, "%s\t\t%s", insn[j].mnemonic, insn[j].op_str);
    ev(ev_stream, "/insn", (void*) (insn[j].address + insn[j].size));
    if (newline) pr(pr_stream, "\n");
  }
  if (n) cs_free(insn, n);
  cs_close(&h);
  return NULL;
}
