// The built-in function library: importing this module registers every built-in scalar,
// aggregate, window and set-returning function with the registry (registry.ts). Each module
// registers its functions when it is first imported; nothing else is exported.
import './math.js';
import './string.js';
import './aggregates.js';
import './json_functions.js';
import './datetime_functions.js';
import './set_returning.js';
import './window.js';
import './misc.js';
