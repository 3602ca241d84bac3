const grpc=require('@grpc/grpc-js');const {nameNodeService}=require('./dist/rpc/load');const {unary,CHANNEL_OPTIONS}=require('./dist/rpc/call');
(async()=>{const C=nameNodeService().NameNode;const cs=[...Array(8)].map((_,i)=>new C('127.0.0.1:19000',grpc.credentials.createInsecure(),(process.env.PLAIN?{'grpc.channel_id':i}:{...CHANNEL_OPTIONS,'grpc.channel_id':i})));
const caller={uid:0,gid:0,groups:[]};
for (const op of ['GetAttr']) { let n=0;const t=Date.now();
await Promise.all(cs.map(async(c,i)=>{for(let k=0;Date.now()-t<3000;k++){ if(op==='GetAttr') await unary(c,c.GetAttr,{caller,ino:1}); else await unary(c,c.MakeNode,{caller,parent:1,name:`p${i}-${k}`,mode:0o100644}); n++;}}));
console.log(op, n/3, '/s');}
cs.forEach(c=>c.close());})();
