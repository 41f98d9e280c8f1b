/* admin: `natter admin …`, the operator's subcommands. They work on the database directly
 * (through the store writer) and add nothing to the network API. */
#ifndef NATTER_ADMIN_H
#define NATTER_ADMIN_H

/* argv[0] is "admin". Returns the exit code. The store and keys are open. */
int admin_main(int argc, char **argv);

#endif
