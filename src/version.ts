/** hindsight's version, recorded in every trace. */
export const VERSION = '0.1.0';
