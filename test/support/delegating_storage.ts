export { DelegatingStorage } from '../../src/storage/delegating_storage.js';
