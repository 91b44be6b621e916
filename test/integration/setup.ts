// Integration tests wait on real servers; jest's 5 s default is for unit tests.
import { jest } from '@jest/globals';

jest.setTimeout(180_000);
