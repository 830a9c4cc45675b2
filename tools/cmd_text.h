/* cmd_text.h — the text commands of the CLI (tools/cmd_text.c). */
#ifndef LOOM_TOOLS_CMD_TEXT_H
#define LOOM_TOOLS_CMD_TEXT_H

int cmd_import(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_embed(int argc, char **argv);
/* `loom run MODEL --text ...` (main sends run here when --text is given). */
int cmd_run_text(int argc, char **argv);
/* Does argv hold --text (or --text=...)? */
int cli_has_text(int argc, char **argv);

#endif
