/** Exit codes by class. */
export const EXIT_OK = 0;
/** A checker found something (or a verdict failed). */
export const EXIT_FINDINGS = 1;
/** Bad input: arguments, files, scenario or platform descriptions. */
export const EXIT_BAD_INPUT = 2;
/** The model itself broke (a ModelBug): please report it. */
export const EXIT_MODEL_BUG = 3;
/** Stopped by SIGINT (128 + 2, the shell's convention), after printing a summary. */
export const EXIT_SIGINT = 130;
/** Stopped by SIGTERM (128 + 15). */
export const EXIT_SIGTERM = 143;
