import { useEffect, useRef, useState } from 'react';
import * as THREE from 'three';
import { CSS2DObject, CSS2DRenderer } from 'three/addons/renderers/CSS2DRenderer.js';

// The decision graph in 3D: analysts → bull/bear debate → arbitrator → optimiser →
// risk gate → decision. Analysts are coloured by their latest score (red bearish,
// green bullish), sized by confidence, ringed red when they did not answer; pulses run
// along the edges each time `flowKey` changes (a new decision arrived).
const STAGES = ['debate', 'arbitrator', 'optimiser', 'risk gate', 'decision'];
const FLOW_MS = 2400;

function scoreColor(score) {
  const s = Math.max(-1, Math.min(1, score ?? 0));
  const grey = new THREE.Color('#8a94a6');
  return grey.lerp(new THREE.Color(s >= 0 ? '#2ecc71' : '#ff5c5c'), Math.abs(s));
}

function label(text, className) {
  const div = document.createElement('div');
  div.className = `node-label ${className || ''}`;
  div.textContent = text;
  return new CSS2DObject(div);
}

function layout(agents) {
  const at = {};
  agents.forEach((name, i) => {
    const a = (i / agents.length) * Math.PI * 2;
    at[name] = new THREE.Vector3(-6, Math.cos(a) * 3, Math.sin(a) * 3);
  });
  STAGES.forEach((name, i) => {
    at[name] = new THREE.Vector3(-2 + i * 2.6, 0, 0);
  });
  return at;
}

function buildScene(agents) {
  const scene = new THREE.Scene();
  scene.add(new THREE.AmbientLight(0xffffff, 0.6));
  const sun = new THREE.DirectionalLight(0xffffff, 1.2);
  sun.position.set(5, 8, 10);
  scene.add(sun);
  const at = layout(agents);
  const edges = [...agents.map((a) => [a, 'debate']), ...STAGES.slice(1).map((s, i) => [STAGES[i], s])];
  for (const [from, to] of edges) {
    const geometry = new THREE.BufferGeometry().setFromPoints([at[from], at[to]]);
    scene.add(new THREE.Line(geometry, new THREE.LineBasicMaterial({ color: 0x3a4a63 })));
  }
  const nodes = {};
  for (const name of [...agents, ...STAGES]) {
    const mesh = new THREE.Mesh(
      new THREE.SphereGeometry(0.5, 32, 16),
      new THREE.MeshStandardMaterial({ color: '#4da3ff', roughness: 0.4, metalness: 0.1 }),
    );
    mesh.position.copy(at[name]);
    const ring = new THREE.Mesh(new THREE.TorusGeometry(0.7, 0.05, 8, 32), new THREE.MeshBasicMaterial({ color: 0xff3b3b }));
    ring.visible = false;
    mesh.add(ring);
    const tag = label(name);
    tag.position.set(0, 0.9, 0);
    mesh.add(tag);
    scene.add(mesh);
    nodes[name] = { mesh, ring, tag };
  }
  return { scene, at, edges, nodes };
}

// Colour, size, ring and label of each analyst from its latest signal.
function paint(nodes, agents, signals, missing) {
  for (const name of agents) {
    const { mesh, ring, tag } = nodes[name];
    const signal = signals[name];
    mesh.material.color = scoreColor(signal?.score);
    mesh.scale.setScalar(0.7 + 0.7 * (signal?.confidence ?? 0.5));
    ring.visible = missing.includes(name);
    tag.element.className = `node-label ${ring.visible ? 'bad' : ''}`;
    tag.element.textContent = signal ? `${name} ${signal.score >= 0 ? '+' : ''}${signal.score.toFixed(2)}` : `${name} (no answer)`;
  }
}

function addPulses(scene, at, edges) {
  const pulses = edges.map(([from, to], i) => {
    const dot = new THREE.Mesh(new THREE.SphereGeometry(0.16, 12, 8), new THREE.MeshBasicMaterial({ color: 0xffd166 }));
    dot.visible = false;
    scene.add(dot);
    const stage = i < edges.length - (STAGES.length - 1) ? 0 : STAGES.indexOf(from) + 1;
    return { dot, from: at[from], to: at[to], stage };
  });
  const stages = STAGES.length;
  return (elapsedMs) => {
    const t = elapsedMs / (FLOW_MS / stages);
    for (const p of pulses) {
      const local = t - p.stage;
      p.dot.visible = local >= 0 && local <= 1;
      if (p.dot.visible) p.dot.position.lerpVectors(p.from, p.to, local);
    }
  };
}

export function AgentGraph3D({ agents, signals, missing, flowKey }) {
  const host = useRef(null);
  const nodes = useRef(null);
  const flowStart = useRef(-Infinity);
  const [failure, setFailure] = useState(null);
  const agentsKey = agents.join(',');

  useEffect(() => {
    flowStart.current = performance.now();
  }, [flowKey]);

  useEffect(() => {
    if (nodes.current) paint(nodes.current, agents, signals, missing);
  }, [agents, signals, missing]);

  useEffect(() => {
    const el = host.current;
    let renderer;
    try {
      renderer = new THREE.WebGLRenderer({ antialias: true, alpha: true });
    } catch (err) {
      setFailure(`3D view unavailable: WebGL could not start (${err.message}).`);
      return undefined;
    }
    const width = el.clientWidth || 800;
    const height = 460;
    renderer.setSize(width, height);
    el.appendChild(renderer.domElement);
    const labels = new CSS2DRenderer();
    labels.setSize(width, height);
    labels.domElement.className = 'labels';
    el.appendChild(labels.domElement);
    const built = buildScene(agents);
    nodes.current = built.nodes;
    paint(built.nodes, agents, signals, missing);
    const flow = addPulses(built.scene, built.at, built.edges);
    const camera = new THREE.PerspectiveCamera(45, width / height, 0.1, 100);
    let frame = 0;
    const draw = (now) => {
      const angle = now / 9000;
      camera.position.set(Math.sin(angle) * 4, 4, 15 + Math.cos(angle) * 2);
      camera.lookAt(0, 0, 0);
      flow(now - flowStart.current);
      renderer.render(built.scene, camera);
      labels.render(built.scene, camera);
      frame = requestAnimationFrame(draw);
    };
    frame = requestAnimationFrame(draw);
    return () => {
      cancelAnimationFrame(frame);
      nodes.current = null;
      renderer.dispose();
      el.replaceChildren();
    };
    // Rebuilt only when the set of agents changes; signals repaint in place.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [agentsKey]);

  if (failure) return <p className="notice error">{failure}</p>;
  return <div className="graph3d" ref={host} data-testid="agent-graph" />;
}
