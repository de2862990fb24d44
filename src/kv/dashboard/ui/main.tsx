/**
 * The dashboard's entry point, bundled by scripts/build-dashboard.ts into static/app.js (and
 * its style sheets into static/app.css).
 */
import { render } from 'preact';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { App } from './app.tsx';
import { ClusterStore } from './store.ts';

const store = new ClusterStore(location.origin);
store.start();
render(<App store={store} />, document.getElementById('app') as HTMLElement);
