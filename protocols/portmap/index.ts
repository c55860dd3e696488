export { PortmapRegistry } from './registry';
export { portmapPrograms } from './table';
export * from './types';
